/**
 * Real upstream servers for proxy tests: HTTP and HTTPS on 127.0.0.x, port 0, with certificates from a
 * throwaway test CA (a second CertificateAuthority in a temp dir — never the proxy's own CA).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { CertificateAuthority } from '../../../src/proxy/ca.js';

export interface Received {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

export interface Upstream {
  url: string;
  host: string;
  port: number;
  received: Received[];
  /** TCP connections accepted so far (keep-alive checks). */
  connections: number;
  /** TCP connections still open now. */
  openConnections(): number;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `oal-${prefix}-`));
}

export async function createTestCa(): Promise<CertificateAuthority> {
  return CertificateAuthority.loadOrCreate(tmpDir('upstream-ca'));
}

export function sha256(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Echo handler: 200 with JSON {sha256, length} of the request body. */
export const echoHandler: Handler = (req, body, res) => {
  const payload = JSON.stringify({ sha256: sha256(body), length: body.length, method: req.method, url: req.url });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
};

async function listen(server: http.Server, host: string, scheme: 'http' | 'https', received: Received[]): Promise<Upstream> {
  const upstream = { received, connections: 0 } as Upstream;
  const open = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    upstream.connections++;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  upstream.openConnections = () => open.size;
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  upstream.host = host;
  upstream.port = port;
  upstream.url = `${scheme}://${host}:${port}`;
  upstream.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return upstream;
}

function wrap(handler: Handler, received: Received[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body });
      handler(req, body, res);
    });
  };
}

export async function startHttpUpstream(handler: Handler = echoHandler, host = '127.0.0.1'): Promise<Upstream> {
  const received: Received[] = [];
  return listen(http.createServer(wrap(handler, received)), host, 'http', received);
}

export interface HttpsUpstreamOptions {
  ca: CertificateAuthority;
  host?: string;
  /** Name the certificate is issued for (default: host). */
  certFor?: string;
  /** Issue the certificate as if "now" were this date (expired certificates). */
  issuedAt?: Date;
}

export async function startHttpsUpstream(options: HttpsUpstreamOptions, handler: Handler = echoHandler): Promise<Upstream> {
  const host = options.host ?? '127.0.0.1';
  const leaf = options.ca.issueLeaf(options.certFor ?? host, options.issuedAt);
  const received: Received[] = [];
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, wrap(handler, received));
  return listen(server, host, 'https', received);
}
