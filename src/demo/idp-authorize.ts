/**
 * The authorize leg without a browser: follows the IdP's redirects (authorize → interaction →
 * resume → redirect_uri) with real HTTPS requests and a tiny cookie jar, and returns the code.
 * Optionally goes through an HTTP proxy (oauth-lens), so the authorize request and the
 * authorization response are captured like a browser's would be.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';

export interface AuthorizeOptions {
  idp: { endpoints: { authorization: string }; caPem: string; clients: { confidential: { clientId: string } } };
  redirectUri: string;
  codeChallenge: string;
  codeChallengeMethod?: 'S256' | 'plain';
  state?: string;
  nonce?: string;
  scope?: string;
  /** Default: the confidential client. */
  clientId?: string;
  /** Extra authorize parameters (prompt, resource, …). */
  extraParams?: Record<string, string>;
  /** Route the requests through this HTTP proxy, trusting `proxy.caPem` for TLS (the proxy's CA). */
  proxy?: { url: string; caPem: string };
}

export interface AuthorizeResult {
  code: string;
  state?: string;
  iss?: string;
  /** The full Location the IdP redirected to (contains the code: a secret). */
  location: string;
}

export class AuthorizeError extends Error {
  readonly code = 'OAL_ERR_AUTHORIZE';
  constructor(message: string, readonly oauthError?: string) {
    super(message);
  }
}

/** A fresh PKCE verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const MAX_HOPS = 10;

export async function authorizeAndGetCode(options: AuthorizeOptions): Promise<AuthorizeResult> {
  const authorizeUrl = new URL(options.idp.endpoints.authorization);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: options.clientId ?? options.idp.clients.confidential.clientId,
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid',
    code_challenge: options.codeChallenge,
    code_challenge_method: options.codeChallengeMethod ?? 'S256',
    ...(options.state !== undefined ? { state: options.state } : {}),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...options.extraParams,
  };
  for (const [name, value] of Object.entries(params)) authorizeUrl.searchParams.set(name, value);

  const dispatcher: Dispatcher = options.proxy
    ? new ProxyAgent({ uri: options.proxy.url, requestTls: { ca: options.proxy.caPem } })
    : new Agent({ connect: { ca: options.idp.caPem } });
  const cookies = new Map<string, string>();
  try {
    let url = authorizeUrl.toString();
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const cookieHeader = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await request(url, {
        method: 'GET',
        dispatcher,
        headers: cookieHeader ? { cookie: cookieHeader } : {},
      });
      const body = await response.body.text();
      rememberCookies(cookies, response.headers['set-cookie']);
      const location = response.headers['location'];
      if (response.statusCode < 300 || response.statusCode >= 400 || typeof location !== 'string') {
        throw new AuthorizeError(`authorize leg stopped at ${new URL(url).pathname} with HTTP ${response.statusCode}: ${excerpt(body)}`);
      }
      const next = new URL(location, url);
      if (isRedirectUri(next, options.redirectUri)) return readAuthorizationResponse(next);
      url = next.toString();
    }
    throw new AuthorizeError(`authorize leg did not reach the redirect_uri within ${MAX_HOPS} redirects`);
  } finally {
    await dispatcher.close();
  }
}

function isRedirectUri(candidate: URL, redirectUri: string): boolean {
  const target = new URL(redirectUri);
  return candidate.origin === target.origin && candidate.pathname === target.pathname;
}

function readAuthorizationResponse(location: URL): AuthorizeResult {
  const query = location.searchParams;
  const error = query.get('error');
  if (error) throw new AuthorizeError(`authorization failed: ${error} (${query.get('error_description') ?? 'no description'})`, error);
  const code = query.get('code');
  if (!code) throw new AuthorizeError('authorization response carried neither code nor error');
  const result: AuthorizeResult = { code, location: location.toString() };
  const state = query.get('state');
  const iss = query.get('iss');
  if (state !== null) result.state = state;
  if (iss !== null) result.iss = iss;
  return result;
}

function rememberCookies(jar: Map<string, string>, setCookie: string | string[] | undefined): void {
  for (const line of typeof setCookie === 'string' ? [setCookie] : setCookie ?? []) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

/** Error text for a human, without the page's markup. */
function excerpt(body: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1];
  const text = title ?? body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return text.slice(0, 200) || '(empty body)';
}
