/**
 * The environment `oauth-lens run` gives the wrapped command: the shared client exports
 * (proxy variables in both cases, CA variables with the combined bundle), plus what only a
 * launched process can get — the Node preload in NODE_OPTIONS, NODE_USE_ENV_PROXY for newer
 * Node, Java proxy properties — and warnings about settings that defeat capture or TLS checks.
 */
import { fileURLToPath } from 'node:url';
import { clientEnv } from '../proxy/client-env.js';
import { noProxyFromEnv, parseNoProxy } from './no-proxy.cjs';

export interface ChildEnvOptions {
  /** The environment run was started with (usually process.env). */
  base: NodeJS.ProcessEnv;
  proxyUrl: string;
  caPath: string;
  bundlePath: string;
  uiPort?: number;
  /** Absolute path of the preload (default: dist/run/preload.cjs next to this file). */
  preloadPath?: string;
}

export interface ChildEnv {
  env: NodeJS.ProcessEnv;
  warnings: string[];
}

export const DEFAULT_PRELOAD_PATH = fileURLToPath(new URL('./preload.cjs', import.meta.url));

export function buildChildEnv(options: ChildEnvOptions): ChildEnv {
  const base = options.base;
  const warnings: string[] = [];
  const inheritedNoProxy = noProxyFromEnv(base).split(/[,\s]/).filter(Boolean);
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [name, value] of clientEnv({
    proxyUrl: options.proxyUrl,
    caPath: options.caPath,
    bundlePath: options.bundlePath,
    ...(options.uiPort ? { uiPort: options.uiPort } : {}),
    noProxy: inheritedNoProxy,
  })) {
    env[name] = value;
  }
  env['NODE_OPTIONS'] = withPreload(base['NODE_OPTIONS'], options.preloadPath ?? DEFAULT_PRELOAD_PATH);
  // Node ≥ 22.21 / 24.5 route fetch and http/https through HTTPS_PROXY themselves (the preload then stands down).
  env['NODE_USE_ENV_PROXY'] = '1';
  env['JAVA_TOOL_OPTIONS'] = joinOptions(base['JAVA_TOOL_OPTIONS'], javaProxyProperties(options.proxyUrl, env['NO_PROXY'] ?? ''));
  env['OAUTH_LENS_ACTIVE'] = '1';
  env['OAUTH_LENS_PROXY'] = options.proxyUrl;

  if (base['NODE_TLS_REJECT_UNAUTHORIZED'] === '0') {
    warnings.push(
      'NODE_TLS_REJECT_UNAUTHORIZED=0 is set: the command does not verify TLS certificates at all. ' +
        'It is not needed with oauth-lens (the command already trusts its CA) and it hides real certificate ' +
        'problems from you; unset it.',
    );
  }
  const bypass = describeBypass(inheritedNoProxy);
  if (bypass) warnings.push(bypass);
  return { env, warnings };
}

/** Appends `--require <preload>` once; NODE_OPTIONS accepts double-quoted paths with spaces. */
export function withPreload(nodeOptions: string | undefined, preloadPath: string): string {
  const existing = (nodeOptions ?? '').trim();
  if (existing.includes(preloadPath)) return existing;
  const quoted = /[\s"\\]/.test(preloadPath) ? `"${preloadPath.replace(/(["\\])/g, '\\$1')}"` : preloadPath;
  return [existing, `--require ${quoted}`].filter(Boolean).join(' ');
}

/** Java's proxy system properties; nonProxyHosts uses `|` and `*.` wildcards and has no ports. */
export function javaProxyProperties(proxyUrl: string, noProxy: string): string {
  const url = new URL(proxyUrl);
  const host = url.hostname;
  const port = url.port || '80';
  const nonProxy = [...new Set(parseNoProxy(noProxy)
    .filter((entry) => entry.port === 0 && entry.hostname !== '*')
    .flatMap((entry) => [entry.hostname, `*.${entry.hostname}`]))];
  return [
    `-Dhttp.proxyHost=${host}`, `-Dhttp.proxyPort=${port}`,
    `-Dhttps.proxyHost=${host}`, `-Dhttps.proxyPort=${port}`,
    // An empty list matters: Java's default bypasses localhost, which would hide local IdPs.
    `-Dhttp.nonProxyHosts=${nonProxy.join('|')}`,
  ].join(' ');
}

function joinOptions(existing: string | undefined, added: string): string {
  return [existing?.trim(), added].filter(Boolean).join(' ');
}

function describeBypass(entries: string[]): string | undefined {
  if (entries.includes('*')) {
    return 'NO_PROXY=* in your environment: no request goes through oauth-lens, so nothing will be captured.';
  }
  const loopback = entries.filter((e) => /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)(:\d+)?$/i.test(e));
  if (loopback.length) {
    return `NO_PROXY in your environment bypasses ${loopback.join(', ')}: requests to those hosts are not captured ` +
      '(remove them from NO_PROXY to see a local IdP or API).';
  }
  return undefined;
}
