/**
 * The environment that points a process at the proxy and makes it trust our CA — shared by
 * `oauth-lens env`, `oauth-lens start` (the exports it prints) and `oauth-lens run` (the child's env).
 *
 * NO_PROXY: loopback is deliberately NOT bypassed, because local test servers and local IdPs are exactly
 * what users want to see. Only the viewer/admin port is listed (`127.0.0.1:<ui>,localhost:<ui>`): clients
 * that understand host:port entries (Python requests, Go, undici) skip the proxy for it; clients that ignore
 * ports (curl) send it through the proxy, which refuses it (403) — never a loop.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { SYSTEM_CA_BUNDLE } from './upstream-agents.js';

export type Shell = 'sh' | 'fish' | 'powershell';
export const SHELLS: readonly Shell[] = ['sh', 'fish', 'powershell'];

export interface ClientEnvOptions {
  proxyUrl: string;
  /** Our CA certificate (NODE_EXTRA_CA_CERTS adds to Node's store). */
  caPath: string;
  /** System CAs + ours (Python, curl and OpenSSL replace their store with it). */
  bundlePath: string;
  /** Viewer/admin port to bypass, if any. */
  uiPort?: number;
  /** Extra NO_PROXY entries. */
  noProxy?: string[];
}

/** Ordered name → value pairs. */
export function clientEnv(options: ClientEnvOptions): Array<[string, string]> {
  const noProxy = [
    ...(options.uiPort ? [`127.0.0.1:${options.uiPort}`, `localhost:${options.uiPort}`] : []),
    ...(options.noProxy ?? []),
  ].join(',');
  return [
    ['HTTPS_PROXY', options.proxyUrl],
    ['HTTP_PROXY', options.proxyUrl],
    ['https_proxy', options.proxyUrl],
    ['http_proxy', options.proxyUrl],
    ['NO_PROXY', noProxy],
    ['no_proxy', noProxy],
    ['NODE_EXTRA_CA_CERTS', options.caPath],
    ['REQUESTS_CA_BUNDLE', options.bundlePath],
    ['SSL_CERT_FILE', options.bundlePath],
    ['CURL_CA_BUNDLE', options.bundlePath],
  ];
}

/** Shell text that sets every variable, quoted for that shell. */
export function formatEnv(env: Array<[string, string]>, shell: Shell = 'sh'): string {
  return env.map(([name, value]) => {
    switch (shell) {
      case 'fish':
        return `set -gx ${name} ${singleQuote(value)}`;
      case 'powershell':
        return `$env:${name} = '${value.replace(/'/g, "''")}'`;
      default:
        return `export ${name}=${singleQuote(value)}`;
    }
  }).join('\n') + '\n';
}

function singleQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Write `<certs>/ca-bundle.pem`: the system CAs (Debian's bundle, else Node's built-in roots) followed by ours.
 * Rewritten only when its content would change.
 */
export async function writeCaBundle(certsDir: string, caPem: string): Promise<string> {
  const bundlePath = path.join(path.resolve(certsDir), 'ca-bundle.pem');
  const system = await fs.readFile(SYSTEM_CA_BUNDLE, 'utf8').catch(() => tls.rootCertificates.join('\n'));
  const content = `${system.trimEnd()}\n# oauth-lens local CA\n${caPem.trim()}\n`;
  const current = await fs.readFile(bundlePath, 'utf8').catch(() => undefined);
  if (current !== content) {
    const tmp = `${bundlePath}.${process.pid}.tmp`;
    await fs.writeFile(tmp, content, { mode: 0o644 });
    await fs.rename(tmp, bundlePath);
  }
  return bundlePath;
}
