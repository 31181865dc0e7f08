/**
 * NO_PROXY matching with the same rules as undici's EnvHttpProxyAgent (which routes `fetch`),
 * so `fetch` and the http/https agents of the preload agree on which hosts go direct:
 * entries split on commas/whitespace, `*` bypasses everything, `host:port` needs the port,
 * a leading `.` or `*.` is dropped and the entry then matches the host and its subdomains.
 * No CIDR ranges (undici has none either). CommonJS: the preload loads it with `require`.
 */
export interface NoProxyEntry {
  hostname: string;
  /** 0 = any port. */
  port: number;
}

export function parseNoProxy(value: string): NoProxyEntry[] {
  const entries: NoProxyEntry[] = [];
  for (const raw of value.split(/[,\s]/)) {
    if (!raw) continue;
    if (raw === '*') return [{ hostname: '*', port: 0 }];
    const withPort = /^(.+):(\d+)$/.exec(raw);
    const host = (withPort ? withPort[1]! : raw).replace(/^\*?\./, '').replace(/^\[|\]$/g, '').toLowerCase();
    entries.push({ hostname: host, port: withPort ? Number(withPort[2]) : 0 });
  }
  return entries;
}

/** The NO_PROXY value from an environment, lower-case first as undici reads it. */
export function noProxyFromEnv(env: NodeJS.ProcessEnv): string {
  return env['no_proxy'] ?? env['NO_PROXY'] ?? '';
}

/** True when a request to host:port must bypass the proxy. */
export function matchesNoProxy(entries: NoProxyEntry[], host: string, port: number): boolean {
  const hostname = host.replace(/^\[|\]$/g, '').toLowerCase();
  for (const entry of entries) {
    if (entry.hostname === '*') return true;
    if (entry.port && entry.port !== port) continue;
    if (hostname === entry.hostname || hostname.endsWith(`.${entry.hostname}`)) return true;
  }
  return false;
}
