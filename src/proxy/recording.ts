/**
 * What the proxy learns about one exchange while it flows: filled in by the hooks, turned into a
 * `CapturedExchange` exactly once (`finish`). Decompressed copies are made later, in `materialize`,
 * off the request path.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import tls from 'node:tls';
import { BodyTap } from '../capture/body-tap.js';
import { decodeBody, type DecodeResult } from '../capture/decode.js';
import type { CapturedBody, CapturedExchange, RawHeaders, Timings, TlsFacts, TransportError } from '../capture/types.js';

export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function pairHeaders(raw: string[]): RawHeaders {
  const pairs: RawHeaders = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}

export interface RequestHead {
  method?: string | undefined;
  httpVersion: string;
  rawHeaders: string[];
}

export interface ResponseHead {
  statusCode?: number | undefined;
  statusMessage?: string | undefined;
  httpVersion: string;
  rawHeaders: string[];
}

interface ResponseMeta {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: RawHeaders;
  tap: BodyTap;
}

export class Recording {
  readonly id = crypto.randomUUID();
  readonly timings: Timings = { start: now() };
  readonly request: { method: string; url: string; httpVersion: string; headers: RawHeaders; tap: BodyTap };
  clientAddress?: string;
  connectTarget?: string;
  tls?: TlsFacts;
  error?: TransportError;
  response?: ResponseMeta;
  #finished = false;
  #bodyLimit: number;

  /** `req`: the request head (an IncomingMessage, or what the tunnel relay's observer parsed). */
  constructor(req: RequestHead, url: string, bodyLimit: number) {
    this.#bodyLimit = bodyLimit;
    this.request = {
      method: req.method ?? 'GET',
      url,
      httpVersion: req.httpVersion,
      headers: pairHeaders(req.rawHeaders),
      tap: new BodyTap(bodyLimit),
    };
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Timings and TLS facts of the upstream request once it has a socket. */
  watchUpstream(upstream: http.ClientRequest, servername: string | undefined): void {
    upstream.once('socket', (socket) => {
      // A reused keep-alive socket is already connected; one opened ahead of the request may still be
      // in its TLS handshake after the TCP connect (`_secureEstablished`: Node's own flag, no public one).
      if (socket instanceof tls.TLSSocket) {
        if ((socket as { _secureEstablished?: boolean })._secureEstablished) this.connectedVia(socket, servername);
        else socket.once('secureConnect', () => this.connectedVia(socket, servername));
      } else if ((socket as { connecting?: boolean }).connecting) socket.once('connect', () => this.connectedVia(socket, servername));
      else this.connectedVia(socket, servername);
    });
    upstream.once('finish', () => {
      this.timings.requestSent = now();
    });
  }

  /** The request travels on `socket`, connected by now: timing, and the upstream's TLS facts. */
  connectedVia(socket: object, servername: string | undefined): void {
    this.timings.upstreamConnected ??= now();
    if (socket instanceof tls.TLSSocket) this.tls = tlsFacts(socket, servername);
  }

  onResponse(res: http.IncomingMessage): void {
    this.onResponseHead(res).attach(res);
  }

  /** The response head arrived; returns the tap its body chunks go to. */
  onResponseHead(res: ResponseHead): BodyTap {
    this.timings.responseHeaders = now();
    const tap = new BodyTap(this.#bodyLimit);
    this.response = {
      status: res.statusCode ?? 0,
      statusText: res.statusMessage ?? '',
      httpVersion: res.httpVersion,
      headers: pairHeaders(res.rawHeaders),
      tap,
    };
    return tap;
  }
  /** Record a transport failure (the first one wins). */
  fail(error: TransportError): void {
    this.error ??= error;
  }

  /** Close the record; returns false if it was already closed. */
  finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.timings.end = now();
    return true;
  }

  /** The immutable capture, with decoded copies of compressed bodies. Call after `finish`. */
  materialize(): CapturedExchange {
    const captured: CapturedExchange = {
      id: this.id,
      timings: { ...this.timings },
      request: {
        method: this.request.method,
        url: this.request.url,
        httpVersion: this.request.httpVersion,
        headers: this.request.headers,
        body: withDecoded(this.request.tap.snapshot(), this.request.headers),
      },
    };
    if (this.clientAddress) captured.clientAddress = this.clientAddress;
    if (this.connectTarget) captured.connectTarget = this.connectTarget;
    if (this.response) {
      const { tap, ...meta } = this.response;
      captured.response = { ...meta, body: withDecoded(tap.snapshot(), meta.headers) };
    }
    if (this.tls) captured.tls = this.tls;
    if (this.error) captured.error = this.error;
    return captured;
  }
}

/** The decoded copy of a compressed body, if it has an encoding (see DecodedBody). */
function withDecoded(body: CapturedBody, headers: RawHeaders): CapturedBody {
  const encoding = headers.find(([name]) => name.toLowerCase() === 'content-encoding')?.[1];
  return encoding ? new DecodedBody(body, encoding) : body;
}

/**
 * A compressed body whose decoded copy is made on first read of `decoded` or `decodeError` (then kept):
 * captures nobody inspects cost no decompression. Values are exactly what an eager decode gives. Prototype
 * getters, for the reason given at TappedBody (capture/body-tap.ts).
 */
class DecodedBody implements CapturedBody {
  readonly size: number;
  readonly truncated: boolean;
  #body: CapturedBody;
  #encoding: string;
  #result: DecodeResult | undefined;

  constructor(body: CapturedBody, encoding: string) {
    this.#body = body;
    this.#encoding = encoding;
    this.size = body.size;
    this.truncated = body.truncated;
  }

  get bytes(): Buffer {
    return this.#body.bytes;
  }

  get decoded(): Buffer | undefined {
    return this.#decode().decoded;
  }

  get decodeError(): string | undefined {
    return this.#decode().decodeError;
  }

  #decode(): DecodeResult {
    return (this.#result ??= decodeBody(this.#body.bytes, this.#encoding, this.#body.truncated));
  }
}

const factsCache = new WeakMap<tls.TLSSocket, TlsFacts>();

function tlsFacts(socket: tls.TLSSocket, servername: string | undefined): TlsFacts {
  const cached = factsCache.get(socket);
  if (cached) return cached;
  const facts: TlsFacts = {};
  const sni = servername || (socket as { servername?: string | false }).servername;
  if (sni) facts.sni = sni;
  const protocol = socket.getProtocol();
  if (protocol) facts.protocol = protocol;
  const cipher = socket.getCipher();
  if (cipher?.name) facts.cipher = cipher.name;
  const peer = socket.getPeerCertificate();
  if (peer && Object.keys(peer).length > 0) {
    facts.peerCertificate = {
      subject: formatName(peer.subject),
      issuer: formatName(peer.issuer),
      validFrom: peer.valid_from,
      validTo: peer.valid_to,
      ...(peer.fingerprint256 ? { fingerprint256: peer.fingerprint256 } : {}),
    };
  }
  factsCache.set(socket, facts);
  return facts;
}

function formatName(name: tls.Certificate | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

/** The record of a CONNECT we refused (aimed at oauth-lens itself, or malformed). */
export function refusalCapture(authority: string, reason: 'proxy_loop' | 'bad_target', clientAddress?: string): CapturedExchange {
  const at = now();
  return {
    id: crypto.randomUUID(),
    timings: { start: at, end: at },
    connectTarget: authority,
    request: { method: 'CONNECT', url: authority, httpVersion: '1.1', headers: [], body: { bytes: Buffer.alloc(0), size: 0, truncated: false } },
    error: reason === 'proxy_loop'
      ? { code: 'proxy_loop', message: `refused: ${authority} is oauth-lens itself` }
      : { code: 'other', message: 'malformed CONNECT target' },
    ...(clientAddress ? { clientAddress } : {}),
  };
}
