/**
 * Small pieces of the request relay that need no proxy state: hook guarding, URL building, trailer fixes.
 */
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { IContext } from 'http-mitm-proxy';
import type { HostPort } from './self-guard.js';

/** Run a hook body; return its error instead of throwing into the library (trap 3). */
export function guarded(fn: () => void): Error | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error('hook failed');
  }
}

/**
 * Backpressure for one direction of the relay: the library's final filters ignore what write() returns,
 * so pause `source` whenever `sink` is full and resume it on 'drain'. Without it a slow reader makes the
 * proxy buffer a whole body. Installed next to the library's pipe, it checks after each chunk.
 */
export function holdBack(source: Readable, sink: Writable): void {
  source.on('data', () => {
    if (sink.writableNeedDrain && !source.isPaused()) {
      source.pause();
      sink.once('drain', () => source.resume());
    }
  });
}

export function absoluteUrl(isTls: boolean, target: HostPort, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  const scheme = isTls ? 'https' : 'http';
  const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  const port = target.port === (isTls ? 443 : 80) ? '' : `:${target.port}`;
  return `${scheme}://${host}${port}${path.startsWith('/') || path === '*' ? path : `/${path}`}`;
}

/** A `Trailer` header on a response that is not chunked makes Node's writeHead throw (trap: ERR_HTTP_TRAILER_INVALID). */
export function dropStrayTrailer(ctx: IContext): void {
  const headers = ctx.serverToProxyResponse?.headers;
  if (!headers || headers.trailer === undefined) return;
  if (!/\bchunked\b/i.test(String(headers['transfer-encoding'] ?? ''))) delete headers.trailer;
}

/** The library drops trailer values; pass them on when the response is chunked. */
export function forwardTrailers(ctx: IContext): void {
  const upstream = ctx.serverToProxyResponse;
  const trailers = upstream?.rawTrailers ?? [];
  if (trailers.length === 0 || !/\bchunked\b/i.test(String(upstream?.headers['transfer-encoding'] ?? ''))) return;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < trailers.length; i += 2) pairs.push([trailers[i]!, trailers[i + 1]!]);
  ctx.proxyToClientResponse.addTrailers(pairs);
}
