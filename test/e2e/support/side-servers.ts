/**
 * Loopback servers for the scenarios the oidc-provider IdP cannot play:
 * - a trusted token endpoint on 127.0.0.2 that answers client_credentials with a gzip-compressed
 *   JSON token response (Content-Encoding: gzip when the client accepts it), and a Slack-shaped
 *   `/api/oauth.v2.access` that answers HTTP 200 `{"ok":false,"error":"invalid_code"}`;
 * - an HTTPS server on 127.0.0.3 whose CA nobody trusts (the upstream TLS failure).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { issueServerTls } from '../../support/idp.js';

export interface SideServers {
  /** CA of the 127.0.0.2 server: give it to the proxy as an upstream CA. */
  trustedCaPem: string;
  /** Token endpoint answering gzip JSON (client_credentials for `clientId`/`clientSecret`). */
  tokenUrl: string;
  slackLikeUrl: string;
  clientId: string;
  clientSecret: string;
  /** Access tokens the token endpoint issued (secrets for the leak check). */
  issued: string[];
  /** An HTTPS token endpoint signed by a CA the proxy does not trust. */
  untrustedTokenUrl: string;
  /** Requests that reached the untrusted server (must stay 0: the handshake fails first). */
  untrustedHits: number;
  close(): Promise<void>;
}

export async function startSideServers(): Promise<SideServers> {
  const trustedTls = issueServerTls({ hostnames: ['tokens.oauth-lens.test'], ips: ['127.0.0.2'] });
  const untrustedTls = issueServerTls({ hostnames: ['untrusted.oauth-lens.test'], ips: ['127.0.0.3'] });
  const clientId = 'gzip-client';
  const clientSecret = randomBytes(18).toString('base64url');
  const issued: string[] = [];
  let untrustedHits = 0;

  const trusted = createServer({ cert: trustedTls.certPem, key: trustedTls.keyPem }, (req, res) => {
    void readBody(req).then((body) => answerTrusted(req, body, res, { clientId, clientSecret, issued }));
  });
  const untrusted = createServer({ cert: untrustedTls.certPem, key: untrustedTls.keyPem }, (_req, res) => {
    untrustedHits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const trustedPort = await listen(trusted, '127.0.0.2');
  const untrustedPort = await listen(untrusted, '127.0.0.3');
  return {
    trustedCaPem: trustedTls.caPem,
    tokenUrl: `https://127.0.0.2:${trustedPort}/oauth/token`,
    slackLikeUrl: `https://127.0.0.2:${trustedPort}/api/oauth.v2.access`,
    clientId,
    clientSecret,
    issued,
    untrustedTokenUrl: `https://127.0.0.3:${untrustedPort}/oauth/token`,
    get untrustedHits() { return untrustedHits; },
    close: async () => {
      await Promise.all([close(trusted), close(untrusted)]);
    },
  };
}

interface TokenIssuer { clientId: string; clientSecret: string; issued: string[] }

function answerTrusted(req: IncomingMessage, body: string, res: ServerResponse, issuer: TokenIssuer): void {
  const path = (req.url ?? '').split('?')[0];
  const form = new URLSearchParams(body);
  if (path === '/api/oauth.v2.access') {
    // Slack's habit: every answer is HTTP 200; failures say so only in the body.
    return void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify({ ok: false, error: 'invalid_code' }));
  }
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const [id, secret] = basic ? Buffer.from(basic, 'base64').toString().split(':') : [];
  if (path !== '/oauth/token' || form.get('grant_type') !== 'client_credentials' || id !== issuer.clientId || secret !== issuer.clientSecret) {
    return void res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ error: 'invalid_request' }));
  }
  const accessToken = randomBytes(24).toString('base64url');
  issuer.issued.push(accessToken);
  const json = Buffer.from(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') ?? 'reports' }));
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...(gzip ? { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } : {}),
  }).end(gzip ? gzipSync(json) : json);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
