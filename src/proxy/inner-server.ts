/**
 * The one internal HTTP server that parses what arrives inside CONNECT tunnels (TLS already terminated by
 * tunnel.ts). It never listens: sockets are injected with `emit('connection')`. Requests and WebSocket
 * upgrades go back into http-mitm-proxy's own pipeline.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { IContext } from 'http-mitm-proxy';
import type { WebSocketServer } from 'ws';
import { isEncrypted } from './tunnel.js';

/** Internals of http-mitm-proxy we replace or call (present in 1.1.0's shipped class, not its typings). */
export interface MitmInternals {
  _onError(kind: string, ctx: IContext | null, err: Error): void;
  _onSocketError(description: string, err: Error): void;
  _onHttpServerRequest(isSSL: boolean, req: http.IncomingMessage, res: http.ServerResponse): void;
  _onWebSocketServerConnect(isSSL: boolean, ws: unknown, req: http.IncomingMessage): void;
  httpServer?: http.Server;
  httpPort: number;
}

export function wireInnerServer(inner: http.Server, wss: WebSocketServer, internals: MitmInternals, idleMs: number): void {
  // Injected connections skip listen(), so Node's header/request timeout checks never run for them:
  // an idle limit keeps a silent tunnel from holding a socket forever.
  inner.timeout = idleMs;
  inner.keepAliveTimeout = 30_000;
  inner.on('request', (req, res) => internals._onHttpServerRequest(isEncrypted(req.socket), req, res));
  inner.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      (ws as unknown as { upgradeReq: unknown }).upgradeReq = req;
      internals._onWebSocketServerConnect(isEncrypted(req.socket), ws, req);
    });
  });
  // Malformed HTTP inside a tunnel: answer 400 and close (the library only logged and left it open).
  inner.on('clientError', (_err, socket) => {
    if (socket.writable && (socket as net.Socket).bytesWritten === 0) {
      socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
    socket.destroy();
  });
}
