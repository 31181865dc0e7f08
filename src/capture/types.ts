/**
 * What the proxy records about one HTTP exchange, *before* redaction.
 * Raw secrets live in these objects, so they must never reach a sink (store, feed, HAR, log):
 * the OAuth engine turns them into redacted `Exchange`s (src/model.ts) first.
 */

/** Header name/value pairs in wire order, original case, duplicates kept. */
export type RawHeaders = Array<[name: string, value: string]>;

/** Epoch milliseconds (fractional) of each phase that was reached. */
export interface Timings {
  start: number;
  upstreamConnected?: number;
  requestSent?: number;
  responseHeaders?: number;
  end?: number;
}

export interface CapturedBody {
  /** Bytes as they crossed the wire (still compressed), at most the capture cap. */
  bytes: Buffer;
  /** Full size on the wire, even when `bytes` was truncated. */
  size: number;
  truncated: boolean;
  /** Decompressed copy for inspection only (gzip, deflate, br); absent when identity or undecodable. */
  decoded?: Buffer;
  /** Why decoding failed (bad gzip, unknown encoding, truncated input), if it did. */
  decodeError?: string;
}

export interface TlsFacts {
  sni?: string;
  protocol?: string;
  cipher?: string;
  peerCertificate?: {
    subject: string;
    issuer: string;
    validFrom: string;
    validTo: string;
    fingerprint256?: string;
  };
}

/** Transport failure, kept apart from HTTP error statuses (mitmproxy's Flow.error). */
export interface TransportError {
  /** Stable code: dns, refused, reset, timeout, tls_hostname, tls_expired, tls_untrusted, tls_other, client_aborted, proxy_loop, other. */
  code: string;
  /** Short human text naming the cause. Must not contain request data. */
  message: string;
  /** Node's error code when there was one (ECONNREFUSED, CERT_HAS_EXPIRED, …). */
  nodeCode?: string;
}

export interface CapturedRequest {
  method: string;
  /** Absolute URL as the proxy forwarded it (scheme://host[:port]/path?query). */
  url: string;
  httpVersion: string;
  headers: RawHeaders;
  body: CapturedBody;
}

export interface CapturedResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: RawHeaders;
  body: CapturedBody;
}

export interface CapturedExchange {
  id: string;
  timings: Timings;
  clientAddress?: string;
  /** host:port of the CONNECT tunnel, for HTTPS. */
  connectTarget?: string;
  request: CapturedRequest;
  response?: CapturedResponse;
  tls?: TlsFacts;
  error?: TransportError;
}
