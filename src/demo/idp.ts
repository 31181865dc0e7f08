/**
 * The demo / test authorization server: a real oidc-provider 9 over HTTPS on loopback, with a
 * throwaway CA, PKCE required, three registered clients, refresh tokens, an in-memory adapter,
 * a browserless login (the interaction endpoint logs the demo user in and consents at once),
 * and switchable faults on the token endpoint (500 HTML page, 429 + Retry-After).
 * Shared by `npm run demo`, docker-compose and every test suite (test/support/idp.ts).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { issueServerTls, type ServerTls } from './test-ca.js';
import { authorizeAndGetCode, type AuthorizeOptions, type AuthorizeResult } from './idp-authorize.js';

export interface IdpClient {
  clientId: string;
  /** Absent for the public client. */
  clientSecret?: string;
  redirectUris: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface IdpClients {
  /** Authorization code + refresh; authenticates with client_secret_basic OR client_secret_post. */
  confidential: IdpClient;
  /** client_credentials only (machine to machine). */
  machine: IdpClient;
  /** Public client (token_endpoint_auth_method none), PKCE only. */
  public: IdpClient;
}

export interface IdpOptions {
  /** Listen address (default 127.0.0.1). Use 0.0.0.0 only inside a container. */
  host?: string;
  /** Listen port (default 0: ephemeral). */
  port?: number;
  /** Host name in the issuer URL (default: `host`, or 127.0.0.1 when listening on all interfaces). */
  publicHost?: string;
  /** Extra DNS names for the server certificate (localhost and idp.oauth-lens.test are always there). */
  hostnames?: string[];
  /** Redirect URIs registered for the confidential and public clients (exact match, no trailing slash). */
  redirectUris?: string[];
  /** Reuse a CA + certificate instead of issuing fresh ones. */
  tls?: ServerTls;
  /**
   * Demo only: a request carrying `x-demo-fault: <status>` gets that fault (500 HTML, 429 …).
   * Lets a backend in another process or container trigger "provider 500" in band.
   */
  faultHeader?: boolean;
  /** Client secrets to use instead of random ones (docker-compose shares them through a file instead). */
  clientSecrets?: { confidential?: string; machine?: string };
  /** Called for provider-side errors (they are otherwise silent). */
  onError?: (message: string) => void;
}

export interface FaultOptions {
  /** 500 answers an HTML error page, 429 a text body with Retry-After; any 4xx/5xx works. */
  status: number;
  /** How many matching requests get the fault (default 1). */
  count?: number;
  /** Retry-After seconds for 429/503 (default 2). */
  retryAfterSeconds?: number;
  /** Path the fault applies to (default the token endpoint, /token). */
  path?: string;
}

export interface StartedIdp {
  issuer: string;
  /** Same as `issuer` (no path): the base URL. */
  url: string;
  host: string;
  port: number;
  /** PEM of the CA that signed the IdP's certificate (give it to the proxy as upstream CA). */
  caPem: string;
  clients: IdpClients;
  endpoints: { authorization: string; token: string; userinfo: string; jwks: string; discovery: string };
  /** Requests seen per path (without query), e.g. `requests['/token']`. */
  requests: Record<string, number>;
  /** Makes the next `count` requests to `path` fail with `status`. */
  failNext(fault: FaultOptions): void;
  /** Performs the authorize leg with real HTTP requests and returns the authorization code. */
  authorizeAndGetCode(options: Omit<AuthorizeOptions, 'idp'>): Promise<AuthorizeResult>;
  close(): Promise<void>;
}

export const DEMO_ACCOUNT_ID = 'demo-user';
const DEFAULT_REDIRECT_URIS = ['https://app.oauth-lens.test/callback', 'http://127.0.0.1:3000/callback'];

export async function startIdp(options: IdpOptions = {}): Promise<StartedIdp> {
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const tls = options.tls ?? issueServerTls({ hostnames: ['idp.oauth-lens.test', ...(options.hostnames ?? [])] });
  const redirectUris = options.redirectUris ?? DEFAULT_REDIRECT_URIS;
  const clients = makeClients(redirectUris, options.clientSecrets ?? {});
  const requests: Record<string, number> = {};
  const faults: Array<Required<FaultOptions>> = [];
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  // Listen first: the issuer must contain the real (possibly ephemeral) port.
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem, ca: tls.caPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests[path] = (requests[path] ?? 0) + 1;
    const fault = takeFault(faults, path) ?? headerFault(options.faultHeader === true, req);
    if (fault) return answerFault(req, res, fault);
    if (!handler) return void res.writeHead(503).end();
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`;

  const provider = new Provider(issuer, providerConfiguration(clients));
  provider.on('server_error', (_ctx, err) => options.onError?.(`idp server_error: ${(err as Error).message}`));
  const providerHandler = provider.callback();
  handler = (req, res) => {
    const match = /^\/interaction\/([\w-]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (match && req.method === 'GET') {
      autoLogin(provider, req, res).catch((err: Error) => {
        options.onError?.(`idp interaction failed: ${err.message}`);
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('interaction failed\n');
      });
      return;
    }
    providerHandler(req, res);
  };

  const idp: StartedIdp = {
    issuer,
    url: issuer,
    host: publicHost,
    port,
    caPem: tls.caPem,
    clients,
    endpoints: {
      authorization: `${issuer}/auth`,
      token: `${issuer}/token`,
      userinfo: `${issuer}/me`,
      jwks: `${issuer}/jwks`,
      discovery: `${issuer}/.well-known/openid-configuration`,
    },
    requests,
    failNext(fault) {
      faults.push({ count: 1, retryAfterSeconds: 2, path: '/token', ...fault });
    },
    authorizeAndGetCode: (authorize) => authorizeAndGetCode({ ...authorize, idp }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return idp;
}

function makeClients(redirectUris: string[], fixed: { confidential?: string; machine?: string }): IdpClients {
  const random = () => randomBytes(24).toString('base64url');
  return {
    confidential: {
      clientId: 'demo-app',
      clientSecret: fixed.confidential ?? random(),
      redirectUris,
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    },
    machine: {
      clientId: 'demo-service',
      clientSecret: fixed.machine ?? random(),
      redirectUris: [],
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    },
    public: {
      clientId: 'demo-spa',
      redirectUris,
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
    },
  };
}

function providerConfiguration(clients: IdpClients): Record<string, unknown> {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return {
    clients: Object.values(clients).map((client: IdpClient) => ({
      client_id: client.clientId,
      ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
      redirect_uris: client.redirectUris,
      grant_types: client.grantTypes,
      response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: client.tokenEndpointAuthMethod,
      scope: 'openid profile email offline_access api:read',
    })),
    jwks: { keys: [{ ...signingKey, use: 'sig', kid: 'demo-key' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, name: 'Demo User', email: 'demo@oauth-lens.test', email_verified: true }),
    }),
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read'],
    pkce: { required: () => true },
    // Refresh tokens for every code grant of a client allowed to refresh, not only with offline_access.
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    ttl: {
      AuthorizationCode: 60, AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600,
      RefreshToken: 86400, Interaction: 600, Session: 3600, Grant: 86400,
    },
    renderError: (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>${escapeHtml(out['error'] ?? 'error')}</title></head>` +
        `<body><h1>${escapeHtml(out['error'] ?? 'error')}</h1><p>${escapeHtml(out['error_description'] ?? '')}</p></body></html>\n`;
    },
  };
}

/** The browserless login: the demo user signs in and consents to everything the client asked for. */
async function autoLogin(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const clientId = String(details.params['client_id']);
  const grant = new provider.Grant({ accountId: DEMO_ACCOUNT_ID, clientId });
  const scope = typeof details.params['scope'] === 'string' ? details.params['scope'] : 'openid';
  grant.addOIDCScope(scope);
  const missingClaims = details.prompt.details['missingOIDCClaims'];
  if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims.map(String));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: DEMO_ACCOUNT_ID }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

function takeFault(faults: Array<Required<FaultOptions>>, path: string): Required<FaultOptions> | undefined {
  const index = faults.findIndex((fault) => fault.path === path && fault.count > 0);
  if (index < 0) return undefined;
  const fault = faults[index]!;
  fault.count -= 1;
  if (fault.count === 0) faults.splice(index, 1);
  return fault;
}

function headerFault(enabled: boolean, req: IncomingMessage): Required<FaultOptions> | undefined {
  const status = Number(req.headers['x-demo-fault']);
  if (!enabled || !Number.isInteger(status) || status < 400 || status > 599) return undefined;
  return { status, count: 1, retryAfterSeconds: 2, path: '' };
}

/** Reads the request body first so keep-alive connections stay usable, then answers like a broken gateway. */
function answerFault(req: IncomingMessage, res: ServerResponse, fault: Required<FaultOptions>): void {
  req.resume();
  req.on('end', () => {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (fault.status === 429 || fault.status === 503) headers['retry-after'] = String(fault.retryAfterSeconds);
    if (fault.status >= 500) {
      headers['content-type'] = 'text/html; charset=utf-8';
      res.writeHead(fault.status, headers).end(
        `<!DOCTYPE html><html><head><title>${fault.status} Internal Server Error</title></head>` +
          `<body><h1>Internal Server Error</h1><p>The server encountered an unexpected condition.</p></body></html>\n`,
      );
      return;
    }
    headers['content-type'] = 'text/plain; charset=utf-8';
    res.writeHead(fault.status, headers).end(fault.status === 429 ? 'Too Many Requests\n' : 'Request refused\n');
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
