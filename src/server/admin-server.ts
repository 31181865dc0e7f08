/**
 * The admin server: health, the REST API, the WebSocket feed and the browser viewer on one
 * node:http server bound to 127.0.0.1 by default. Every request passes the AccessPolicy first
 * (Host, Origin, token); the feed authenticates in the `upgrade` handler, before ws sees it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { exchangeToCurl } from '../har/curl.js';
import { exchangesToHar } from '../har/har.js';
import type { ExchangeStore } from '../store/store.js';
import { AccessPolicy, generateToken } from './access.js';
import { FailureRateAlerts, type AlertThresholds } from './alerts.js';
import { handleApi, type ExportHelpers } from './api-routes.js';
import { AdminServerError } from './errors.js';
import { FeedHub, type FeedCounters } from './feed.js';
import { htmlSecurityHeaders, send, sendError, sendJson } from './http-util.js';
import { silentLogger, type LensLogger } from './logger.js';
import { defaultViewerDir, loadViewer } from './static-viewer.js';
import { LENS_VERSION } from './version.js';

export interface AdminServerOptions {
  store: ExchangeStore;
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Random per start unless given. */
  token?: string;
  logger?: LensLogger;
  thresholds?: AlertThresholds;
  /** Built viewer directory; defaults to dist/viewer. */
  viewerDir?: string;
  /** HAR and curl exports (default: src/har); a route whose helper is absent answers 404. */
  exports?: ExportHelpers;
  /** Feed tuning (tests shrink these). */
  feed?: { bufferLimitBytes?: number; snapshotLimit?: number; statsIntervalMs?: number; lagTimeoutMs?: number };
}

export interface AdminServer {
  /** Base URL, e.g. http://127.0.0.1:8081 (without the token). */
  url: string;
  port: number;
  token: string;
  /** The URL to open in a browser: base URL with `?token=`. */
  viewerUrl: string;
  feedCounters(): FeedCounters;
  close(): Promise<void>;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const token = options.token || generateToken();
  const server = createServer();
  const port = await listen(server, host, options.port);
  const access = new AccessPolicy({ token, boundHost: host, port });
  const feed = new FeedHub({ store: options.store, logger, ...options.feed });
  const alerts = new FailureRateAlerts({ store: options.store, logger, thresholds: options.thresholds });
  const viewer = loadViewer(options.viewerDir ?? defaultViewerDir());
  const deps = { store: options.store, exports: options.exports ?? DEFAULT_EXPORTS };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      handleRequest(req, res);
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, 'admin request failed');
      if (!res.headersSent) sendError(res, 500, 'internal', 'Internal error');
      else res.destroy();
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => socket.destroy());

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendError(res, 405, 'method_not_allowed', 'Only GET is supported');
      return;
    }
    if (url.pathname === '/api/health') {
      const verdict = access.checkOrigin(req);
      if (!verdict.ok) return refuse(res, verdict.status, verdict.reason);
      sendJson(res, 200, { ok: true, version: LENS_VERSION, exchanges: options.store.size });
      return;
    }
    const verdict = access.check(req, url);
    if (!verdict.ok) return refuse(res, verdict.status, verdict.reason, url.pathname === '/');
    if (url.pathname.startsWith('/api/')) {
      handleApi(req, res, url, deps);
      return;
    }
    // A browser that came with ?token= trades it for the cookie, then the token leaves the address bar.
    if (verdict.via === 'query' && url.pathname === '/') {
      res.writeHead(303, { Location: '/', 'Set-Cookie': access.sessionCookie(), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
      res.end();
      return;
    }
    const file = viewer.get(url.pathname);
    if (!file) {
      if (url.pathname === '/') send(res, 503, 'The viewer is not built: run `npm run build`.\n', 'text/plain; charset=utf-8');
      else sendError(res, 404, 'not_found', 'Not found');
      return;
    }
    const extra = file.contentType.startsWith('text/html') ? htmlSecurityHeaders(`ws://${req.headers.host}`) : {};
    send(res, 200, file.body, file.contentType, extra);
  }

  function refuse(res: ServerResponse, status: 401 | 403, reason: string, html = false): void {
    logger.debug({ status, reason }, 'admin request refused');
    if (html && status === 401) {
      send(res, 401, UNAUTHORIZED_PAGE, 'text/html; charset=utf-8', htmlSecurityHeaders("'self'"));
      return;
    }
    sendError(res, status, status === 401 ? 'unauthorized' : 'forbidden', reason);
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const verdict = url.pathname === '/api/feed' ? access.check(req, url) : ({ ok: false, status: 404, reason: 'no such socket' } as const);
    if (!verdict.ok) {
      const text = verdict.status === 401 ? 'Unauthorized' : verdict.status === 403 ? 'Forbidden' : 'Not Found';
      socket.end(`HTTP/1.1 ${verdict.status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
      return;
    }
    feed.handleUpgrade(req, socket, head);
  }

  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url: base, viewer: viewer.size > 0 }, 'admin API and viewer listening');
  let closed: Promise<void> | undefined;
  return {
    url: base,
    port,
    token,
    viewerUrl: `${base}/?token=${encodeURIComponent(token)}`,
    feedCounters: () => feed.counters(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        alerts.stop();
        feed.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

const DEFAULT_EXPORTS: ExportHelpers = {
  exchangesToHar: (exchanges) => exchangesToHar(exchanges, { creatorVersion: LENS_VERSION }),
  exchangeToCurl,
};

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new AdminServerError('OAL_ERR_PORT_IN_USE',
          `Admin/viewer port ${port} on ${host} is already in use (another oauth-lens?). Stop it or choose another with --ui-port.`, { cause: err }));
      } else {
        reject(new AdminServerError('OAL_ERR_LISTEN', `Cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

const UNAUTHORIZED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>oauth-lens: token needed</title></head>
<body><h1>oauth-lens</h1><p>This viewer needs its access token. Open the viewer URL that <code>oauth-lens start</code>
printed (it ends in <code>?token=…</code>), or run <code>oauth-lens watch</code> in a terminal.</p></body></html>
`;
