/**
 * The real clients of the scenarios, each pointed at the proxy the way a user would do it:
 * curl (-x, --cacert), Python requests (HTTPS_PROXY, REQUESTS_CA_BUNDLE), openid-client 6
 * (customFetch through an undici ProxyAgent), and the browserless authorize leg through the proxy.
 * Tokens found in responses are remembered as secrets for the leak check.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { pkcePair, type AuthorizeResult } from '../../support/idp.js';
import type { World } from './world.js';

const run = promisify(execFile);
const PY_CLIENT = fileURLToPath(new URL('./py_client.py', import.meta.url));

/** The environment of a child client: no NO_PROXY inherited from the machine, so loopback goes through the lens. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['NO_PROXY', 'no_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy']) delete env[name];
  return env;
}

function rememberTokens(world: World, text: string): void {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['access_token', 'refresh_token', 'id_token']) if (typeof json[key] === 'string') world.remember(json[key] as string);
  } catch { /* not JSON */ }
}

export interface HttpResult { status: number; text: string }

/** curl through the proxy; `args` are curl options and the URL. Returns the status (000 on failure) and body. */
export async function curl(world: World, args: string[]): Promise<HttpResult> {
  const marker = '\n__oal_status__';
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-x', world.proxyUrl, '--cacert', world.lensCaPath, '-w', `${marker}%{http_code}`, ...args], {
    encoding: 'utf8', env: childEnv({}),
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? `${marker}000` }));
  const at = stdout.lastIndexOf(marker);
  const text = stdout.slice(0, at);
  rememberTokens(world, text);
  return { status: Number(stdout.slice(at + marker.length)), text };
}

export interface PythonRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  data?: Array<[string, string]> | string;
  json?: unknown;
  params?: Array<[string, string]>;
  auth?: [string, string];
  /** Send the same request this many times back to back (a retry loop without backoff). */
  repeat?: number;
}

export interface PythonResult extends HttpResult { headers: Record<string, string> }

/** Python requests through the proxy (HTTPS_PROXY + REQUESTS_CA_BUNDLE); one result per attempt. */
export async function python(world: World, spec: PythonRequest): Promise<PythonResult[]> {
  const { stdout } = await run('python3', [PY_CLIENT, JSON.stringify(spec)], {
    encoding: 'utf8', env: childEnv({ HTTPS_PROXY: world.proxyUrl, https_proxy: world.proxyUrl, REQUESTS_CA_BUNDLE: world.lensCaPath }),
  });
  const results = JSON.parse(stdout) as PythonResult[];
  for (const r of results) rememberTokens(world, r.text);
  return results;
}

/** An openid-client Configuration found by discovery through the proxy. */
export async function openidClient(world: World, clientId: string, clientSecret: string): Promise<{ config: oidc.Configuration; close(): Promise<void> }> {
  const agent = new ProxyAgent({ uri: world.proxyUrl, requestTls: { ca: readFileSync(world.lensCaPath, 'utf8') } });
  const viaProxy = ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher: agent })) as unknown as oidc.CustomFetch;
  const config = await oidc.discovery(new URL(world.idp.issuer), clientId, undefined, oidc.ClientSecretBasic(clientSecret), {
    [oidc.customFetch]: viaProxy,
  });
  config[oidc.customFetch] = viaProxy;
  return { config, close: () => agent.close() };
}

export interface Login extends AuthorizeResult { verifier: string; challenge: string; redirectUri: string }

/** The authorize leg through the proxy (the IdP logs the demo user in), with a fresh PKCE pair. */
export async function login(world: World, options: { state: string; scope?: string; redirectUri?: string; clientId?: string }): Promise<Login> {
  const { verifier, challenge } = pkcePair();
  const redirectUri = options.redirectUri ?? world.idp.clients.confidential.redirectUris[0]!;
  const result = await world.idp.authorizeAndGetCode({
    redirectUri, codeChallenge: challenge, state: options.state, scope: options.scope ?? 'openid',
    ...(options.clientId ? { clientId: options.clientId } : {}),
    proxy: { url: world.proxyUrl, caPem: readFileSync(world.lensCaPath, 'utf8') },
  });
  world.remember(result.code, verifier);
  return { ...result, verifier, challenge, redirectUri };
}
