/**
 * CONNECT handling. http-mitm-proxy would start one https.Server per host on a random port (never freed),
 * dial it on a hard-coded 0.0.0.0, and route by the inner Host header. Instead we take the tunnel socket
 * over in `onConnect` (never calling the library's callback) and terminate TLS in-process with a leaf from
 * the LRU. The decrypted stream then goes to the tunnel relay (tunnel-relay.ts: byte for byte to the
 * CONNECT target), or, for plain HTTP inside the tunnel or when the upstream cannot be reached, into ONE
 * internal http.Server whose requests take the request relay. Either way the CONNECT target, not the Host
 * header, is where requests go upstream.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import net from 'node:net';
import tls from 'node:tls';
import type { LeafCache } from './leaf-cache.js';
import type { HostPort, SelfGuard } from './self-guard.js';
import { parseAuthority } from './self-guard.js';

/** First byte of a TLS record carrying a handshake message (the ClientHello). */
const TLS_HANDSHAKE = 0x16;

export interface TunnelInfo {
  target: HostPort;
  /** The CONNECT request-target as sent. */
  authority: string;
  clientAddress?: string;
  /** SNI the client sent inside the tunnel, if any. */
  sni?: string;
}

export interface TunnelDeps {
  leaves: LeafCache;
  guard: SelfGuard;
  /** Internal server that parses the HTTP inside tunnels (never listens). */
  inner: http.Server;
  /** Called when a CONNECT is refused (aimed at oauth-lens itself, or malformed). */
  onRefused: (authority: string, reason: 'proxy_loop' | 'bad_target', clientAddress?: string) => void;
  /**
   * A tunnel was accepted: the place to start work the first request will need (an upstream connection).
   * The returned function undoes it if the tunnel turns out to carry plain HTTP.
   */
  onOpen?: (info: TunnelInfo) => (() => void) | undefined;
  /** Called when the client's TLS handshake with us fails (typically: it does not trust our CA). */
  onHandshakeFailed?: (info: TunnelInfo, err: Error) => void;
  /**
   * Takes a tunnel over once the client's TLS handshake is done (the tunnel relay). It calls `fallback`
   * to hand the socket, unread, to the inner server instead. Without it every tunnel goes to the inner server.
   */
  relay?: (client: tls.TLSSocket, info: TunnelInfo, fallback: () => void) => void;
  handshakeTimeoutMs?: number;
}

export class Tunnels {
  /** Socket (TLS or plain) → what its CONNECT said; requests look themselves up by `req.socket`. */
  readonly info = new WeakMap<object, TunnelInfo>();
  /** CONNECT tunnels accepted so far (keep-alive checks, benchmark). */
  accepted = 0;
  #deps: TunnelDeps;
  #open = new Set<Duplex>();

  constructor(deps: TunnelDeps) {
    this.#deps = deps;
  }

  /** The `onConnect` hook body: takes the socket over completely. */
  accept(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const clientAddress = (socket as net.Socket).remoteAddress;
    const authority = req.url ?? '';
    const target = parseAuthority(authority);
    if (!target) {
      this.#deps.onRefused(authority.slice(0, 300), 'bad_target', clientAddress);
      return refuse(socket, 400, 'Bad Request', 'oauth-lens: CONNECT needs host:port\n');
    }
    if (this.#deps.guard.isSelf(target.host, target.port)) {
      this.#deps.onRefused(authority, 'proxy_loop', clientAddress);
      return refuse(socket, 403, 'Forbidden', 'oauth-lens: refusing to tunnel to its own port\n');
    }
    this.#track(socket);
    this.accepted++;
    const info: TunnelInfo = { target, authority, ...(clientAddress ? { clientAddress } : {}) };
    (socket as net.Socket).setTimeout?.(this.#deps.handshakeTimeoutMs ?? 30_000, () => socket.destroy());
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    // While the client reads our 200 and sends its ClientHello: open the upstream connection and sign the
    // leaf for the CONNECT host (mitmproxy's eager connection strategy), so neither waits for the other.
    const undoOpen = this.#prepare(info);
    const dispatch = (first: Buffer): void => {
      if (first[0] !== TLS_HANDSHAKE) undoOpen?.();
      this.#safeDispatch(socket, first, info);
    };
    if (head.length > 0) return dispatch(head);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      dispatch(first);
    });
  }

  #prepare(info: TunnelInfo): (() => void) | undefined {
    try {
      const undo = this.#deps.onOpen?.(info);
      this.#deps.leaves.contextFor(info.target.host);
      return undo;
    } catch {
      return undefined; // the handshake signs (and reports) by itself
    }
  }

  /** Destroy every live tunnel (http-mitm-proxy's close() leaves them open, issue #184). */
  destroyAll(): void {
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }

  #track(socket: Duplex): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }

  /** Runs outside the library's call stack (a 'data' event): nothing may escape as an uncaught throw. */
  #safeDispatch(socket: Duplex, first: Buffer, info: TunnelInfo): void {
    try {
      this.#dispatch(socket, first, info);
    } catch {
      socket.destroy();
    }
  }

  #dispatch(socket: Duplex, first: Buffer, info: TunnelInfo): void {
    socket.unshift(first);
    const isTls = first[0] === TLS_HANDSHAKE;
    if (!isTls) {
      // Plain HTTP inside the tunnel: parse it like any request, still routed to the CONNECT target.
      (socket as net.Socket).setTimeout?.(0);
      this.info.set(socket, info);
      this.#deps.inner.emit('connection', socket);
      socket.resume();
      return;
    }
    const leaves = this.#deps.leaves;
    const tlsSocket = new tls.TLSSocket(socket as net.Socket, {
      isServer: true,
      secureContext: leaves.contextFor(info.target.host),
      SNICallback: (servername, cb) => {
        try {
          info.sni = servername;
          cb(null, leaves.contextFor(servername));
        } catch (err) {
          cb(err as Error);
        }
      },
      ALPNProtocols: ['http/1.1'],
    });
    this.info.set(tlsSocket, info);
    tlsSocket.once('secure', () => (socket as net.Socket).setTimeout?.(0));
    // A failed handshake (client distrusts our CA, garbage bytes) closes both ends; nothing else to do.
    let secured = false;
    tlsSocket.once('secure', () => { secured = true; });
    tlsSocket.on('error', (err) => {
      if (!secured) this.#deps.onHandshakeFailed?.(info, err);
      secured = true; // report once
      tlsSocket.destroy();
      socket.destroy();
    });
    const toInner = (): void => void this.#deps.inner.emit('connection', tlsSocket);
    const relay = this.#deps.relay;
    if (!relay) return toInner();
    tlsSocket.once('secure', () => {
      try {
        relay(tlsSocket, info, toInner);
      } catch {
        tlsSocket.destroy();
      }
    });
  }
}

function refuse(socket: Duplex, status: number, reason: string, body: string): void {
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Whether `socket` carries a TLS session (requests from it are https). */
export function isEncrypted(socket: unknown): boolean {
  return socket instanceof tls.TLSSocket;
}
