/**
 * Refuses requests aimed at oauth-lens itself (its proxy port, the viewer/admin port): otherwise a web page
 * configured to use the proxy could reach the admin API by tunnelling through it, and a direct request to
 * the proxy port would loop. Checked on the name first, then on the resolved address (DNS rebinding).
 */
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import { LensError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parse a CONNECT target `host:port` or `[v6]:port`; null when malformed. */
export function parseAuthority(authority: string, defaultPort?: number): HostPort | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s]+))(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return null;
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  const port = m[3] !== undefined ? Number(m[3]) : defaultPort;
  if (!host || port === undefined || port < 1 || port > 65535) return null;
  if (m[1] !== undefined && net.isIPv6(host) === false) return null;
  return { host, port };
}

/** `host:port` with IPv6 literals bracketed. */
export function formatAuthority({ host, port }: HostPort): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export class SelfGuard {
  #ports: Set<number>;
  #localAddresses: Set<string>;

  constructor(bindHost: string, ports: Iterable<number> = []) {
    this.#ports = new Set(ports);
    this.#localAddresses = new Set(['0.0.0.0', '::', '::1', 'localhost', bindHost.toLowerCase()]);
    for (const list of Object.values(os.networkInterfaces())) {
      for (const info of list ?? []) this.#localAddresses.add(info.address.toLowerCase());
    }
  }

  addPort(port: number): void {
    if (port > 0) this.#ports.add(port);
  }

  get ports(): number[] {
    return [...this.#ports];
  }

  /** True if `address` is this machine (loopback, unspecified, any local interface or `localhost` names). */
  isLocalAddress(address: string): boolean {
    const a = address.toLowerCase().replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
    if (this.#localAddresses.has(a)) return true;
    if (a.endsWith('.localhost')) return true;
    return net.isIPv4(a) && a.startsWith('127.');
  }

  /** True when host:port names oauth-lens itself. */
  isSelf(host: string, port: number): boolean {
    return this.#ports.has(port) && this.isLocalAddress(host);
  }

  /**
   * A `dns.lookup` replacement for upstream connections to one of our ports: it fails when the name
   * resolves to a local address, so `evil.example → 127.0.0.1` cannot reach the admin port either.
   */
  lookupFor(port: number): typeof dns.lookup | undefined {
    if (!this.#ports.has(port)) return undefined;
    const guarded = (hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void): void => {
      dns.lookup(hostname, { ...options }, (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => {
        if (err) return callback(err);
        const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
        if (addresses.some((a) => this.isLocalAddress(a))) {
          return callback(new LensError('OAL_ERR_PROXY_LOOP', 'refused: this address is oauth-lens itself'));
        }
        callback(null, address, family);
      });
    };
    return guarded as unknown as typeof dns.lookup;
  }
}
