/**
 * The intercepting proxy: http-mitm-proxy for the listener, CONNECT dispatch and plain ws:// WebSockets, with
 * every trap of version 1.1.0 (see docs/proxy.md) defeated here — own CA and leaves, in-process TLS termination
 * (tunnel.ts), TLS tunnels relayed byte for byte (`#relayTunnel`, tunnel-relay.ts), our own request relay
 * (`#relay`) for plain HTTP and unreachable upstreams, with passive body taps and backpressure, our own error
 * responses, upstream timeout, self-refusal, guarded steps.
 * Observers get a finished `CapturedExchange` after `setImmediate`, so they never hold up traffic.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import { Proxy as MitmProxy } from 'http-mitm-proxy';
import type { IContext, IWebSocketContext } from 'http-mitm-proxy';
import { WebSocketServer } from 'ws';
import type { CapturedExchange } from '../capture/types.js';
import { DEFAULT_BODY_LIMIT } from '../capture/body-tap.js';
import type { CertificateAuthority } from './ca.js';
import { LensError } from './errors.js';
import { isolateLibraryConsole, installCrashGuards, type LibraryNoise, type CrashReporter } from './isolation.js';
import { LeafCache } from './leaf-cache.js';
import { seedLibraryCaDir } from './mitm-ca-dir.js';
import { Recording, refusalCapture } from './recording.js';
import { absoluteUrl, dropStrayTrailer, forwardTrailers, guarded, holdBack } from './relay-helpers.js';
import { SelfGuard, formatAuthority, type HostPort } from './self-guard.js';
import { HttpObserver } from './http-observer.js';
import { Tunnels, type TunnelInfo } from './tunnel.js';
import { TunnelRelay } from './tunnel-relay.js';
import { wireInnerServer, type MitmInternals } from './inner-server.js';
import { createUpstreamAgents, type UpstreamAgents } from './upstream-agents.js';
import { mapUpstreamError } from './upstream-errors.js';

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

/** Receives each finished exchange after `setImmediate`; raw (unredacted), so only the engine may keep it. */
export type CaptureSink = (captured: CapturedExchange) => void;

export interface LensProxyOptions {
  ca: CertificateAuthority;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 8080; 0 = ephemeral). */
  port?: number;
  upstreamCaFiles?: string[];
  insecureUpstream?: boolean;
  /** Upstream inactivity limit before a 504 (default 30 s). */
  upstreamTimeoutMs?: number;
  /** Bytes of each body kept (default 1 MiB). */
  bodyLimit?: number;
  /** Other ports of this instance to refuse (the viewer/admin port). */
  refusedPorts?: number[];
  leafCacheSize?: number;
  /** Receives every finished exchange, after setImmediate. A throw is counted, never propagated. */
  onCapture: CaptureSink;
  onCaptureError?: (err: unknown) => void;
  /** Where the library's own console output goes (default: dropped). */
  onLibraryNoise?: LibraryNoise;
  onLibraryCrash?: CrashReporter;
  /** A client's TLS handshake with the proxy failed (reason code only, e.g. it distrusts our CA). */
  onClientTlsError?: (target: string, code: string) => void;
  env?: NodeJS.ProcessEnv;
}

interface Flight {
  rec: Recording;
  timer: NodeJS.Timeout;
  target: HostPort;
}

type RequestOptionsAtRuntime = https.RequestOptions & { host: string; port?: number };

/**
 * Each exchange's flight lives on its ctx, not in a WeakMap keyed by it: the map's entries kept each
 * exchange's objects alive through young-generation GCs (measured with --trace-gc-nvp: ~290 KB surviving each
 * scavenge at c=1 with the map, ~140 KB without), until a full mark-compact cleared them.
 */
const FLIGHT = Symbol('oauth-lens.flight');
type WithFlight = IContext & { [FLIGHT]?: Flight };
const flightOf = (ctx: IContext): Flight | undefined => (ctx as WithFlight)[FLIGHT];

/** SNI for the upstream handshake: what the client sent us, else the target's name (none for an IP). */
function upstreamServername(target: HostPort, clientSni?: string): string {
  return clientSni ?? (net.isIP(target.host) ? '' : target.host);
}

/** Marks an upstream response that arrived after we had already answered the client. */
const LATE_RESPONSE = new Error('late upstream response dropped');

export class LensProxy {
  readonly host: string;
  readonly leaves: LeafCache;
  readonly guard: SelfGuard;
  /** Subscriber exceptions swallowed so far. */
  captureErrors = 0;
  #port = 0;
  #options: LensProxyOptions;
  #mitm = new MitmProxy();
  #inner = http.createServer();
  #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  #tunnels: Tunnels;
  #agents: UpstreamAgents;
  #timeoutMs: number;
  /** A tunnel or inner-server connection with no traffic for this long is closed. */
  #idleMs: number;
  #bodyLimit: number;
  #undo: Array<() => void> = [];
  #listenFailed: ((err: Error) => void) | undefined;
  #closed = false;

  private constructor(options: LensProxyOptions) {
    this.#options = options;
    this.host = options.host ?? '127.0.0.1';
    this.#timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.#idleMs = Math.max(120_000, this.#timeoutMs * 2);
    this.#bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    this.guard = new SelfGuard(this.host, options.refusedPorts ?? []);
    this.leaves = new LeafCache(options.ca, options.leafCacheSize);
    this.leaves.prepareSpare();
    this.#agents = createUpstreamAgents(this.guard, {
      upstreamCaFiles: options.upstreamCaFiles ?? [],
      insecureUpstream: options.insecureUpstream ?? false,
      ...(options.env ? { env: options.env } : {}),
    });
    this.#tunnels = new Tunnels({
      leaves: this.leaves,
      guard: this.guard,
      inner: this.#inner,
      onRefused: (authority, reason, clientAddress) => this.#recordRefusal(authority, reason, clientAddress),
      // The upstream handshake runs while the client's handshake with us is under way. Port 80 is
      // plain HTTP in practice: no TLS connection is opened ahead for it.
      onOpen: (info) => (info.target.port === 80 ? undefined : this.#agents.preconnect(info.target, upstreamServername(info.target))),
      ...(HttpObserver.available ? { relay: (client: tls.TLSSocket, info: TunnelInfo, fallback: () => void) => this.#relayTunnel(client, info, fallback) } : {}),
      onHandshakeFailed: (info, err) => {
        const code = (err as NodeJS.ErrnoException).code ?? 'ERR_TLS';
        try {
          options.onClientTlsError?.(info.authority, code);
        } catch {
          // reporting only
        }
      },
    });
  }

  static async start(options: LensProxyOptions): Promise<LensProxy> {
    const proxy = new LensProxy(options);
    await proxy.#listen(options.port ?? 8080);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${net.isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.#port}`;
  }

  /** CONNECT tunnels accepted since start. */
  get tunnelsAccepted(): number {
    return this.#tunnels.accepted;
  }

  /** Refuse one more local port (e.g. the viewer, once it listens). */
  refusePort(port: number): void {
    this.guard.addPort(port);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const internals = this.#mitm as unknown as MitmInternals;
    const server = internals.httpServer;
    this.#tunnels.destroyAll();
    server?.closeAllConnections();
    this.#inner.closeAllConnections();
    for (const ws of this.#wss.clients) ws.terminate();
    this.#agents.destroy();
    if (server) {
      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      try {
        this.#mitm.close(); // throws if listen never finished (trap 4): guarded
      } catch {
        server.close();
      }
      await closed;
    }
    for (const undo of this.#undo.splice(0)) undo();
  }

  async #listen(port: number): Promise<void> {
    const { ca } = this.#options;
    const sslCaDir = await seedLibraryCaDir(ca);
    this.#undo.push(isolateLibraryConsole(this.#options.onLibraryNoise ?? (() => {})));
    this.#undo.push(installCrashGuards(this.#options.onLibraryCrash ?? (() => {})));
    this.#installHooks();
    const internals = this.#mitm as unknown as MitmInternals;
    await new Promise<void>((resolve, reject) => {
      // http-mitm-proxy never calls back on EADDRINUSE; the error reaches _onError('HTTP_SERVER_ERROR').
      this.#listenFailed = (err) => reject(err);
      const options = {
        host: this.host, port, keepAlive: true, sslCaDir,
        httpAgent: this.#agents.httpAgent, httpsAgent: this.#agents.httpsAgent,
      };
      this.#mitm.listen(options, ((err?: Error | null) => (err ? reject(err) : resolve())) as () => void);
    }).catch(async (err: NodeJS.ErrnoException) => {
      for (const undo of this.#undo.splice(0)) undo();
      this.#agents.destroy();
      if (err.code === 'EADDRINUSE') throw new LensError('OAL_ERR_PORT_IN_USE', `port ${port} on ${this.host} is already in use`, { cause: err });
      throw new LensError('OAL_ERR_LISTEN', `cannot listen on ${this.host}:${port} (${err.code ?? err.message})`, { cause: err });
    });
    this.#listenFailed = undefined;
    this.#port = internals.httpPort;
    this.guard.addPort(this.#port);
  }

  #installHooks(): void {
    const mitm = this.#mitm;
    const internals = mitm as unknown as MitmInternals;
    internals._onError = (kind, ctx, err) => this.#onLibraryError(kind, ctx, err);
    internals._onSocketError = () => {}; // client socket resets are normal; never log request data
    // Defence in depth: if any path reaches the library's per-host servers, they still use our leaves.
    mitm.onCertificateMissing = (ctx, _files, cb) => {
      const leaf = this.#options.ca.issueLeaf(ctx.hostname);
      (cb as (e: null, d: unknown) => void)(null, { certFileData: leaf.certPem, keyFileData: leaf.keyPem, hosts: [ctx.hostname] });
    };
    mitm.onConnect((req, socket, head) => {
      // Never call the library's callback: the tunnel is ours (see tunnel.ts).
      try {
        this.#tunnels.accept(req, socket, head as Buffer);
      } catch {
        socket.destroy();
      }
    });
    // Requests (plain HTTP, and those inside our tunnels via the inner server) take our relay; the library
    // binds this method when it starts listening.
    internals._onHttpServerRequest = (isSSL, req, res) => this.#relay(isSSL, req, res);
    mitm.onWebSocketConnection((ctx, cb) => cb(guarded(() => this.#onWebSocket(ctx))));
    mitm.onWebSocketError(() => {});
    wireInnerServer(this.#inner, this.#wss, internals, this.#idleMs);
  }

  /** A TLS tunnel, byte for byte over a connection of its own (tunnel-relay.ts). */
  #relayTunnel(client: tls.TLSSocket, info: TunnelInfo, fallback: () => void): void {
    const servername = upstreamServername(info.target, info.sni);
    let upstream: tls.TLSSocket;
    try {
      upstream = this.#agents.tunnelConnection(info.target, servername);
    } catch {
      return fallback(); // the request relay connects, and reports the failure, per request
    }
    TunnelRelay.start(client, upstream, info, servername || undefined, {
      bodyLimit: this.#bodyLimit,
      timeoutMs: this.#timeoutMs,
      idleMs: this.#idleMs,
      onExchange: (rec) => {
        if (rec.finish()) this.#emit(() => rec.materialize());
      },
    }, fallback);
  }

  /**
   * The request relay, in place of the library's `_onHttpServerRequest`, with the same steps and error kinds:
   * pause the request, upstream options from the Host header without `Proxy-*` headers, our request hook,
   * the upstream request, then on its response our response hook, `writeHead` with the library's header
   * filter, and the body. Bodies are forwarded by 'data'/'end' listeners with backpressure instead of through
   * the library's final filters: constructing those two objects per exchange kept every exchange's objects
   * alive past young-generation GCs (~700 KB surviving each scavenge at c=1, against ~140 KB without them),
   * so the whole request graph was promoted and only full mark-compacts reclaimed it (docs/proxy.md).
   */
  #relay(isSSL: boolean, req: http.IncomingMessage, res: http.ServerResponse): void {
    const ctx = { isSSL, clientToProxyRequest: req, proxyToClientResponse: res } as unknown as IContext;
    req.on('error', (err) => this.#onLibraryError('CLIENT_TO_PROXY_REQUEST_ERROR', ctx, err));
    res.on('error', (err) => this.#onLibraryError('PROXY_TO_CLIENT_RESPONSE_ERROR', ctx, err));
    req.pause();
    const hostPort = MitmProxy.parseHostAndPort(req, isSSL ? 443 : 80);
    if (!hostPort) {
      req.resume();
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('oauth-lens: the request names no host\n');
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const name in req.headers) if (!/^proxy-/i.test(name)) headers[name] = req.headers[name];
    ctx.proxyToServerRequestOptions = {
      method: req.method ?? 'GET', path: req.url ?? '/', host: hostPort.host, port: hostPort.port, headers,
      agent: isSSL ? this.#agents.httpsAgent : this.#agents.httpAgent,
    } as unknown as IContext['proxyToServerRequestOptions'];
    const refused = guarded(() => this.#onRequest(ctx));
    if (refused) return this.#onLibraryError('ON_REQUEST_ERROR', ctx, refused);
    const options = ctx.proxyToServerRequestOptions as unknown as https.RequestOptions;
    let upstream: http.ClientRequest;
    try {
      upstream = (isSSL ? https : http).request(options, (response) => this.#relayResponse(ctx, response));
    } catch (err) {
      // Node refuses some requests its own parser let in (a header value it will not send): 502, not a crash.
      return this.#onLibraryError('PROXY_TO_SERVER_REQUEST_ERROR', ctx, err as Error);
    }
    ctx.proxyToServerRequest = upstream;
    upstream.on('error', (err) => this.#onLibraryError('PROXY_TO_SERVER_REQUEST_ERROR', ctx, err));
    guarded(() => this.#watchUpstream(ctx));
    req.on('data', (chunk: Buffer) => upstream.write(chunk));
    req.once('end', () => upstream.end());
    req.resume();
  }

  #relayResponse(ctx: IContext, response: http.IncomingMessage): void {
    response.on('error', (err) => this.#onLibraryError('SERVER_TO_PROXY_RESPONSE_ERROR', ctx, err));
    response.pause();
    ctx.serverToProxyResponse = response;
    const late = guarded(() => this.#onResponse(ctx));
    if (late) return this.#onLibraryError('ON_RESPONSE_ERROR', ctx, late);
    if (ctx.clientToProxyRequest.headers['proxy-connection']) {
      response.headers['proxy-connection'] = 'keep-alive';
      response.headers.connection = 'keep-alive';
    }
    dropStrayTrailer(ctx);
    const client = ctx.proxyToClientResponse;
    // writeHead validates what Node's parser let in (a header value it will not send): a 502, not a crash.
    const unsendable = guarded(() => client.writeHead(response.statusCode ?? 502, MitmProxy.filterAndCanonizeHeaders(response.headers)));
    if (unsendable) return this.#onLibraryError('ON_RESPONSEHEADERS_ERROR', ctx, unsendable);
    response.on('data', (chunk: Buffer) => client.write(chunk));
    response.once('end', () => {
      guarded(() => forwardTrailers(ctx));
      client.end();
    });
    response.resume();
  }

  #onRequest(ctx: IContext): void {
    const req = ctx.clientToProxyRequest;
    const options = ctx.proxyToServerRequestOptions as unknown as RequestOptionsAtRuntime;
    const tunnel = this.#tunnels.info.get(req.socket);
    const target: HostPort = tunnel ? tunnel.target : { host: options.host, port: Number(options.port) || (ctx.isSSL ? 443 : 80) };
    // Upstream = the CONNECT target, not the inner Host header (trap 8).
    options.host = target.host;
    options.port = target.port;
    if (ctx.isSSL) options.servername = upstreamServername(target, tunnel?.sni);
    const rec = new Recording(req, absoluteUrl(ctx.isSSL, target, req.url ?? '/'), this.#bodyLimit);
    const clientAddress = tunnel?.clientAddress ?? req.socket.remoteAddress;
    if (clientAddress) rec.clientAddress = clientAddress;
    if (tunnel) rec.connectTarget = tunnel.authority;
    const timer = setTimeout(() => this.#onTimeout(ctx), this.#timeoutMs);
    (ctx as WithFlight)[FLIGHT] = { rec, timer, target };
    ctx.proxyToClientResponse.once('close', () => this.#onClientResponseClosed(ctx));
    if (this.guard.isSelf(target.host, target.port)) {
      throw new LensError('OAL_ERR_PROXY_LOOP', 'request aimed at oauth-lens itself');
    }
    rec.request.tap.attach(req);
  }

  #watchUpstream(ctx: IContext): void {
    const flight = flightOf(ctx);
    const upstream = ctx.proxyToServerRequest;
    if (!flight || !upstream) return;
    const servername = (ctx.proxyToServerRequestOptions as unknown as RequestOptionsAtRuntime).servername;
    flight.rec.watchUpstream(upstream, servername || undefined);
    holdBack(ctx.clientToProxyRequest, upstream);
  }

  #onResponse(ctx: IContext): void {
    const flight = flightOf(ctx);
    const client = ctx.proxyToClientResponse;
    const upstream = ctx.serverToProxyResponse!;
    if (!flight || client.headersSent || client.writableEnded || client.destroyed) {
      // We already answered (error or timeout): writing again would throw ERR_HTTP_HEADERS_SENT (trap 6).
      upstream.destroy();
      throw LATE_RESPONSE;
    }
    flight.rec.onResponse(upstream);
    upstream.on('data', () => flight.timer.refresh());
    holdBack(upstream, client);
    flight.timer.refresh();
  }

  #onWebSocket(ctx: IWebSocketContext): void {
    const req = (ctx.clientToProxyWebSocket as unknown as { upgradeReq?: http.IncomingMessage }).upgradeReq;
    const options = ctx.proxyToServerWebSocketOptions;
    if (!req || !options?.url) return;
    const url = new URL(options.url);
    const tunnel = this.#tunnels.info.get(req.socket);
    if (tunnel) {
      url.hostname = net.isIPv6(tunnel.target.host) ? `[${tunnel.target.host}]` : tunnel.target.host;
      url.port = String(tunnel.target.port);
      options.url = url.toString();
    }
    const port = Number(url.port) || (url.protocol === 'wss:' ? 443 : 80);
    if (this.guard.isSelf(url.hostname.replace(/^\[|\]$/g, ''), port)) {
      throw new LensError('OAL_ERR_PROXY_LOOP', 'WebSocket aimed at oauth-lens itself');
    }
  }

  #onTimeout(ctx: IContext): void {
    const err = new LensError('OAL_ERR_UPSTREAM_TIMEOUT', 'upstream timeout');
    if (ctx.proxyToServerRequest && !ctx.proxyToServerRequest.destroyed) ctx.proxyToServerRequest.destroy(err);
    else this.#onLibraryError('UPSTREAM_TIMEOUT', ctx, err);
  }

  /** Replaces the library's _onError: no console output, no `${kind}: ${err}` bodies, 502/504/403 of our own. */
  #onLibraryError(kind: string, ctx: IContext | null, err: Error): void {
    try {
      if (!ctx) {
        if (kind === 'HTTP_SERVER_ERROR' && this.#listenFailed) this.#listenFailed(err);
        return;
      }
      if (err === LATE_RESPONSE) return;
      const flight = flightOf(ctx);
      const client = ctx.proxyToClientResponse;
      if (kind === 'CLIENT_TO_PROXY_REQUEST_ERROR' || kind === 'PROXY_TO_CLIENT_RESPONSE_ERROR') {
        flight?.rec.fail({ code: 'client_aborted', message: 'the client closed the connection' });
        ctx.proxyToServerRequest?.destroy();
        client.destroy();
        return;
      }
      const options = ctx.proxyToServerRequestOptions as unknown as RequestOptionsAtRuntime | undefined;
      const target = flight?.target ?? { host: options?.host ?? 'unknown', port: Number(options?.port) || 0 };
      const mapped = mapUpstreamError(err, formatAuthority(target));
      flight?.rec.fail(mapped.error);
      if (flight) clearTimeout(flight.timer);
      ctx.proxyToServerRequest?.destroy();
      ctx.serverToProxyResponse?.destroy();
      if (!client.headersSent && !client.writableEnded) {
        const body = `oauth-lens: ${mapped.error.message}\n`;
        client.writeHead(mapped.status, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'x-oauth-lens-error': mapped.error.code,
        });
        client.end(body);
      } else {
        client.destroy(); // mid-body failure: the only honest signal is a cut connection
      }
    } catch {
      ctx?.proxyToClientResponse.destroy();
    }
  }

  #onClientResponseClosed(ctx: IContext): void {
    const flight = flightOf(ctx);
    if (!flight) return;
    clearTimeout(flight.timer);
    if (!ctx.proxyToClientResponse.writableFinished) {
      flight.rec.fail({ code: 'client_aborted', message: 'the client closed the connection' });
      ctx.proxyToServerRequest?.destroy();
    }
    if (flight.rec.finish()) this.#emit(() => flight.rec.materialize());
  }

  #recordRefusal(authority: string, reason: 'proxy_loop' | 'bad_target', clientAddress?: string): void {
    this.#emit(() => refusalCapture(authority, reason, clientAddress));
  }

  /** Hand a capture to the observer after the current I/O turn; nothing it does can reach the traffic. */
  #emit(build: () => CapturedExchange): void {
    setImmediate(() => {
      try {
        this.#options.onCapture(build());
      } catch (err) {
        this.captureErrors++;
        try {
          this.#options.onCaptureError?.(err);
        } catch {
          // the error reporter must not break capture either
        }
      }
    });
  }
}
