/**
 * Who may talk to the admin server. Three independent checks, all on every request and on the
 * WebSocket upgrade:
 * - Host must name the bound address or localhost (with our port): defeats DNS rebinding.
 * - A browser Origin (and Sec-Fetch-Site) must be our own: defeats CSRF and cross-site WebSocket hijacking.
 * - The per-start token, as `Authorization: Bearer`, `?token=` or the HttpOnly cookie the viewer trades it for.
 * Tokens are compared in constant time, through fixed-length digests.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AccessVerdict =
  | { ok: true; via: 'bearer' | 'query' | 'cookie' | 'none' }
  | { ok: false; status: 401 | 403; reason: string };

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

export class AccessPolicy {
  readonly token: string;
  readonly cookieName: string;
  #tokenDigest: Buffer;
  #cookieValue: string;
  #allowedHosts: Set<string>;
  #allowedOrigins: Set<string>;

  constructor(options: { token: string; boundHost: string; port: number }) {
    this.token = options.token;
    this.#tokenDigest = digest(options.token);
    // The cookie carries a value derived from the token, so the token itself never sits in a cookie jar.
    this.#cookieValue = createHmac('sha256', options.token).update('oauth-lens viewer cookie').digest('base64url');
    this.cookieName = `oauth_lens_${options.port}`;
    this.#allowedHosts = allowedHostHeaders(options.boundHost, options.port);
    this.#allowedOrigins = new Set([...this.#allowedHosts].map((host) => `http://${host}`));
  }

  /** Host and Origin checks, needed even for the unauthenticated health route. */
  checkOrigin(req: IncomingMessage): AccessVerdict {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.#allowedHosts.has(host)) return { ok: false, status: 403, reason: 'host not allowed' };
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#allowedOrigins.has(origin.toLowerCase())) {
      return { ok: false, status: 403, reason: 'origin not allowed' };
    }
    const fetchSite = req.headers['sec-fetch-site'];
    if (fetchSite === 'cross-site' || fetchSite === 'same-site') {
      return { ok: false, status: 403, reason: 'cross-site request' };
    }
    return { ok: true, via: 'none' };
  }

  /** Full check: Host, Origin, then the token. */
  check(req: IncomingMessage, url: URL): AccessVerdict {
    const origin = this.checkOrigin(req);
    if (!origin.ok) return origin;
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (match?.[1] !== undefined && this.#matchesToken(match[1])) return { ok: true, via: 'bearer' };
      return { ok: false, status: 401, reason: 'bad bearer token' };
    }
    const query = url.searchParams.get('token');
    if (query !== null) {
      if (this.#matchesToken(query)) return { ok: true, via: 'query' };
      return { ok: false, status: 401, reason: 'bad token' };
    }
    const cookie = readCookie(req.headers.cookie, this.cookieName);
    if (cookie !== undefined && safeEqual(digest(cookie), digest(this.#cookieValue))) return { ok: true, via: 'cookie' };
    return { ok: false, status: 401, reason: 'token required' };
  }

  /** Set-Cookie value for a browser that presented the token in the URL. */
  sessionCookie(): string {
    return `${this.cookieName}=${this.#cookieValue}; HttpOnly; SameSite=Strict; Path=/`;
  }

  #matchesToken(candidate: string): boolean {
    return safeEqual(digest(candidate), this.#tokenDigest);
  }
}

/** Host header values we answer to: the bound address and the loopback names, each with our port. */
function allowedHostHeaders(boundHost: string, port: number): Set<string> {
  const names = new Set([boundHost.toLowerCase(), 'localhost']);
  // A wildcard bind still answers only to loopback names: other names are what rebinding looks like.
  const wildcard = boundHost === '0.0.0.0' || boundHost === '::';
  if (wildcard || boundHost === '127.0.0.1' || boundHost === 'localhost') names.add('127.0.0.1');
  if (wildcard || boundHost === '::1') names.add('::1');
  if (wildcard) names.delete(boundHost);
  const hosts = new Set<string>();
  for (const name of names) {
    const bracketed = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
    hosts.add(`${bracketed}:${port}`);
    if (port === 80) hosts.add(bracketed);
  }
  return hosts;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
