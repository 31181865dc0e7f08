/**
 * The tunnel relay: inside a CONNECT tunnel whose TLS we terminated, the client's decrypted bytes go to a TLS
 * connection of the tunnel's own (opened when the CONNECT arrived) and the upstream's bytes come back,
 * unchanged, with backpressure both ways — what mitmproxy does per client connection, without parsing and
 * re-serialising each message. A copy of each direction is followed by an `HttpObserver` to build the
 * captures, which pair requests with responses in order (pipelining included).
 *
 * oauth-lens still speaks for itself where a transparent pipe cannot: a request the upstream leaves unanswered
 * past the timeout gets a 504, an upstream that fails before a response starts gets a 502 naming the cause,
 * and malformed client HTTP gets a 400 — each only at a message boundary, otherwise the client connection is
 * cut, the only honest signal mid-message. A 101 or a CONNECT inside the tunnel ends the parsing: the rest
 * is piped. If the upstream connection cannot be made at all, the tunnel takes the request relay instead
 * (`TunnelRelay.start`), which reports that failure for each request.
 */
import type tls from 'node:tls';
import type { Readable, Writable } from 'node:stream';
import { LensError } from './errors.js';
import { HttpObserver, type HeadVerdict, type MessageHead } from './http-observer.js';
import { Recording, now } from './recording.js';
import type { BodyTap } from '../capture/body-tap.js';
import { absoluteUrl } from './relay-helpers.js';
import { formatAuthority } from './self-guard.js';
import type { TunnelInfo } from './tunnel.js';
import { mapUpstreamError } from './upstream-errors.js';

export interface TunnelRelayOptions {
  bodyLimit: number;
  /** Upstream silence while a request waits for its response, before a 504. */
  timeoutMs: number;
  /** No traffic at all for this long closes the tunnel. */
  idleMs: number;
  /** A finished exchange (closed by the caller: `rec.finish()`). */
  onExchange: (rec: Recording) => void;
}

interface Waiting {
  rec: Recording;
  /** The request asks to switch protocols (Upgrade): after a refusal the stream is not followed further. */
  switching: boolean;
}

const UPSTREAM_CLOSED = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

export class TunnelRelay {
  #client: tls.TLSSocket;
  #upstream: tls.TLSSocket;
  #info: TunnelInfo;
  #servername: string | undefined;
  #options: TunnelRelayOptions;
  #requests: HttpObserver;
  #responses: HttpObserver;
  /** Requests seen, oldest first, whose responses have not completed. */
  #waiting: Waiting[] = [];
  /** The request whose body is being read. */
  #reading: Recording | undefined;
  /** The body tap of the response being read. */
  #answer: BodyTap | undefined;
  /** Bytes of a response have gone to the client since the last complete one: no error response fits now. */
  #midResponse = false;
  #informational = false;
  /** Parsing stopped (after a protocol switch or unparseable traffic): bytes are only piped. */
  #opaque = false;
  #done = false;
  #timer: NodeJS.Timeout;

  /**
   * Relay `client` over `upstream` once the upstream's TLS handshake is done; if it fails first, call
   * `fallback` (the request relay), with no client byte read yet.
   */
  static start(client: tls.TLSSocket, upstream: tls.TLSSocket, info: TunnelInfo, servername: string | undefined, options: TunnelRelayOptions, fallback: () => void): void {
    if ((upstream as { _secureEstablished?: boolean })._secureEstablished) {
      new TunnelRelay(client, upstream, info, servername, options);
      return;
    }
    const settle = (connected: boolean): void => {
      upstream.off('secureConnect', onConnected);
      upstream.off('error', onFailed);
      upstream.off('close', onFailed);
      client.off('close', onClientGone);
      if (connected) new TunnelRelay(client, upstream, info, servername, options);
    };
    const onConnected = (): void => settle(true);
    const onFailed = (): void => {
      settle(false);
      upstream.destroy();
      fallback();
    };
    const onClientGone = (): void => {
      settle(false);
      upstream.destroy();
    };
    upstream.once('secureConnect', onConnected);
    upstream.once('error', onFailed);
    upstream.once('close', onFailed);
    client.once('close', onClientGone);
  }

  private constructor(client: tls.TLSSocket, upstream: tls.TLSSocket, info: TunnelInfo, servername: string | undefined, options: TunnelRelayOptions) {
    this.#client = client;
    this.#upstream = upstream;
    this.#info = info;
    this.#servername = servername;
    this.#options = options;
    this.#requests = new HttpObserver('request', {
      head: (head) => this.#onRequestHead(head),
      body: (chunk) => this.#reading?.request.tap.push(chunk),
      complete: () => this.#onRequestComplete(),
    });
    this.#responses = new HttpObserver('response', {
      begin: () => { this.#midResponse = true; },
      head: (head) => this.#onResponseHead(head),
      body: (chunk) => this.#answer?.push(chunk),
      complete: () => this.#onResponseComplete(),
    });
    this.#timer = setTimeout(() => this.#onSilence(), options.timeoutMs).unref();
    client.setTimeout(options.idleMs, () => this.#clientGone()); // silent in both directions: close both
    // Requests are vetted before they go on (malformed HTTP is refused); responses go on first, then are followed.
    this.#forward(client, upstream, (chunk) => this.#fromClient(chunk));
    this.#forward(upstream, client, undefined, (chunk) => this.#fromUpstream(chunk));
    client.on('end', () => { if (!this.#done) upstream.end(); });
    client.on('error', () => this.#clientGone());
    client.on('close', () => this.#clientGone());
    upstream.on('end', () => this.#onUpstreamEnd());
    upstream.on('error', (err) => this.#upstreamFailed(err));
    upstream.on('close', () => this.#upstreamFailed(UPSTREAM_CLOSED()));
  }

  /**
   * `source` → `sink` with backpressure. `vet` sees each chunk before it is written (false drops it);
   * `observe` sees it after, off the latency path.
   */
  #forward(source: Readable, sink: Writable, vet?: (chunk: Buffer) => boolean, observe?: (chunk: Buffer) => void): void {
    // One 'drain' listener for the connection's life, as stream.pipe() does: a large body fills the sink at
    // nearly every chunk, and a once() per chunk was measurable garbage.
    let held = false;
    sink.on('drain', () => {
      if (!held) return;
      held = false;
      source.resume();
    });
    source.on('data', (chunk: Buffer) => {
      if (this.#done || (vet && !vet(chunk))) return;
      if (!sink.write(chunk)) {
        held = true;
        source.pause();
      }
      observe?.(chunk);
    });
  }

  #fromClient(chunk: Buffer): boolean {
    if (this.#opaque) return true;
    const err = this.#requests.feed(chunk);
    if (!err) return true;
    this.#malformedRequest();
    return false;
  }

  #fromUpstream(chunk: Buffer): void {
    if (this.#waiting.length > 0) this.#timer.refresh();
    if (this.#opaque) return;
    const err = this.#responses.feed(chunk);
    // The client has the bytes whatever we make of them; only the capture stops.
    if (err) this.#stopFollowing(`oauth-lens could not parse the upstream response (${(err as NodeJS.ErrnoException).code ?? 'parse error'}); bytes were forwarded unchanged`);
  }

  #onRequestHead(head: MessageHead): HeadVerdict {
    const rec = new Recording(head, absoluteUrl(true, this.#info.target, head.url ?? '/'), this.#options.bodyLimit);
    if (this.#info.clientAddress) rec.clientAddress = this.#info.clientAddress;
    rec.connectTarget = this.#info.authority;
    rec.connectedVia(this.#upstream, this.#servername);
    if (this.#waiting.length === 0) this.#timer.refresh();
    const switching = head.upgrade || head.method === 'CONNECT';
    this.#waiting.push({ rec, switching });
    this.#reading = rec;
    return switching ? 'switch' : 'body';
  }

  /** Called before the chunk holding the request's end is written upstream: the same I/O turn. */
  #onRequestComplete(): void {
    if (this.#reading) this.#reading.timings.requestSent = now();
    this.#reading = undefined;
  }

  #onResponseHead(head: MessageHead): HeadVerdict {
    const waiting = this.#waiting[0];
    const status = head.status ?? 0;
    if (!waiting) {
      this.#stopFollowing('');
      return 'switch';
    }
    if (status >= 100 && status < 200 && status !== 101) {
      this.#informational = true; // 100 Continue, 103 Early Hints: the final response follows
      return 'body';
    }
    this.#answer = waiting.rec.onResponseHead({ statusCode: status, statusMessage: head.statusText, httpVersion: head.httpVersion, rawHeaders: head.rawHeaders });
    const method = waiting.rec.request.method;
    if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) {
      // The stream stops being HTTP: this exchange is complete, the rest is piped.
      this.#onResponseComplete();
      this.#stopFollowing('');
      return 'switch';
    }
    return method === 'HEAD' ? 'no-body' : 'body';
  }

  #onResponseComplete(): void {
    this.#midResponse = false;
    if (this.#informational) {
      this.#informational = false;
      return;
    }
    this.#answer = undefined;
    const done = this.#waiting.shift();
    if (!done) return;
    this.#options.onExchange(done.rec);
    // A request that asked to switch protocols: the request parser stopped at its head, whatever the answer.
    if (done.switching) this.#stopFollowing('');
  }

  /**
   * Stop parsing this connection; exchanges still waiting are closed with `reason` (if any). From here on it is
   * a pipe that only its peers close, as without oauth-lens (a WebSocket may stay quiet for long).
   */
  #stopFollowing(reason: string): void {
    if (this.#opaque) return;
    this.#opaque = true;
    this.#client.setTimeout(0);
    this.#requests.close();
    this.#responses.close();
    for (const { rec } of this.#waiting.splice(0)) {
      if (reason) rec.fail({ code: 'other', message: reason });
      this.#options.onExchange(rec);
    }
    this.#reading = undefined;
    this.#answer = undefined;
  }

  #onSilence(): void {
    if (this.#done || this.#waiting.length === 0) return; // idle keep-alive: the idle limit handles it
    this.#upstreamFailed(new LensError('OAL_ERR_UPSTREAM_TIMEOUT', 'upstream timeout'));
  }

  #onUpstreamEnd(): void {
    if (this.#done) return;
    // A body delimited by the connection's close is complete now; whatever still waits was cut off.
    if (!this.#opaque) this.#responses.end();
    if (this.#waiting.length > 0) return this.#upstreamFailed(UPSTREAM_CLOSED());
    this.#finish();
    this.#client.end();
  }

  /** The upstream failed or went silent: a 502/504 if the client is between responses, else a cut connection. */
  #upstreamFailed(err: unknown): void {
    if (this.#done) return;
    const mapped = mapUpstreamError(err, formatAuthority(this.#info.target));
    const answerable = this.#waiting.length > 0 && !this.#midResponse && this.#client.writable;
    for (const { rec } of this.#waiting.splice(0)) {
      rec.fail(mapped.error);
      this.#options.onExchange(rec);
    }
    this.#finish();
    this.#upstream.destroy();
    if (!answerable) {
      // Nothing was waiting (an idle close: pass it on), or a response was cut mid-way.
      if (this.#midResponse) this.#client.destroy();
      else this.#client.end();
      return;
    }
    const body = `oauth-lens: ${mapped.error.message}\n`;
    this.#client.end(
      `HTTP/1.1 ${mapped.status} ${mapped.status === 504 ? 'Gateway Timeout' : mapped.status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\n`
        + `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
        + `X-OAuth-Lens-Error: ${mapped.error.code}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  /** The client sent what is not HTTP: a 400 at a message boundary (as Node's servers do), else a cut. */
  #malformedRequest(): void {
    const answerable = this.#waiting.length === 0 && !this.#midResponse && this.#client.writable;
    for (const { rec } of this.#waiting.splice(0)) {
      rec.fail({ code: 'other', message: 'the client sent malformed HTTP; oauth-lens closed the connection' });
      this.#options.onExchange(rec);
    }
    this.#finish();
    this.#upstream.destroy();
    if (answerable) this.#client.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else this.#client.destroy();
  }

  #clientGone(): void {
    if (this.#done) return;
    for (const { rec } of this.#waiting.splice(0)) {
      rec.fail({ code: 'client_aborted', message: 'the client closed the connection' });
      this.#options.onExchange(rec);
    }
    this.#finish();
    this.#upstream.destroy();
    this.#client.destroy();
  }

  #finish(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    if (!this.#opaque) {
      this.#opaque = true;
      this.#requests.close();
      this.#responses.close();
    }
  }
}
