/**
 * The demo backend's logins: one correct, five broken in the ways real backends break.
 * Plain global `fetch` only, with no proxy code: `oauth-lens run` (or HTTPS_PROXY plus the
 * preload in Docker) is what routes them through the lens. The browser's part of the login
 * (authorize → interaction → redirect back) is simulated with manual redirects.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface DemoIdpInfo {
  issuer: string;
  confidential: { clientId: string; clientSecret: string; redirectUri: string };
  machine: { clientId: string; clientSecret: string };
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** The finding code oauth-lens should show (undefined for the correct login). */
  expectedFinding?: string;
  /** What the backend saw, e.g. "token 400 invalid_grant". */
  outcome: string;
}

interface Context {
  info: DemoIdpInfo;
  meta: { authorization_endpoint: string; token_endpoint: string; userinfo_endpoint: string };
}

interface Login {
  code: string;
  verifier: string;
}

type Step = (ctx: Context) => Promise<string>;

export const SCENARIOS: ReadonlyArray<{ id: string; title: string; expectedFinding?: string; run: Step }> = [
  { id: 'correct', title: 'Correct login (code + PKCE, userinfo, refresh)', run: correctLogin },
  { id: 'trailing-slash', title: 'redirect_uri with a trailing slash at the token endpoint', expectedFinding: 'redirect_uri.trailing_slash', run: trailingSlash },
  { id: 'reused-code', title: 'Authorization code exchanged twice', expectedFinding: 'code.reused', run: reusedCode },
  { id: 'json-body', title: 'Token request sent as JSON instead of a form', expectedFinding: 'request.wrong_content_type', run: jsonBody },
  { id: 'wrong-secret', title: 'Wrong client secret', expectedFinding: 'client.authentication_failed', run: wrongSecret },
  { id: 'provider-500', title: 'Provider answers 500 with an HTML page', expectedFinding: 'provider.unavailable', run: provider500 },
];

export async function runScenario(id: string, info: DemoIdpInfo): Promise<ScenarioResult> {
  const scenario = SCENARIOS.find((s) => s.id === id);
  if (!scenario) throw new Error(`unknown scenario ${id}`);
  const response = await fetch(`${info.issuer}/.well-known/openid-configuration`);
  const meta = (await response.json()) as Context['meta'];
  const outcome = await scenario.run({ info, meta });
  return {
    id: scenario.id,
    title: scenario.title,
    ...(scenario.expectedFinding ? { expectedFinding: scenario.expectedFinding } : {}),
    outcome,
  };
}

async function correctLogin(ctx: Context): Promise<string> {
  const login = await browserLogin(ctx, 'openid profile offline_access');
  const tokens = await exchange(ctx, login);
  const userinfo = await fetch(ctx.meta.userinfo_endpoint, { headers: { authorization: `Bearer ${String(tokens.body['access_token'])}` } });
  await userinfo.arrayBuffer();
  const refreshed = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: String(tokens.body['refresh_token']) });
  return `token ${tokens.status}, userinfo ${userinfo.status}, refresh ${refreshed.status}`;
}

async function trailingSlash(ctx: Context): Promise<string> {
  const login = await browserLogin(ctx);
  const result = await exchange(ctx, login, { redirectUri: `${ctx.info.confidential.redirectUri}/` });
  return describe(result);
}

async function reusedCode(ctx: Context): Promise<string> {
  const login = await browserLogin(ctx);
  const first = await exchange(ctx, login);
  const second = await exchange(ctx, login);
  return `first ${first.status}, second ${describe(second)}`;
}

async function jsonBody(ctx: Context): Promise<string> {
  const login = await browserLogin(ctx);
  const client = ctx.info.confidential;
  const response = await fetch(ctx.meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(client.clientId, client.clientSecret) },
    body: JSON.stringify({ grant_type: 'authorization_code', code: login.code, redirect_uri: client.redirectUri, code_verifier: login.verifier }),
  });
  return describe(await read(response));
}

async function wrongSecret(ctx: Context): Promise<string> {
  const login = await browserLogin(ctx);
  return describe(await exchange(ctx, login, { secret: `${ctx.info.confidential.clientSecret}-old` }));
}

async function provider500(ctx: Context): Promise<string> {
  const login = await browserLogin(ctx);
  return describe(await exchange(ctx, login, { headers: { 'x-demo-fault': '500' } }));
}

/** What a browser does: authorize, follow the IdP's redirects (auto-login), stop at the redirect_uri. */
async function browserLogin(ctx: Context, scope = 'openid profile'): Promise<Login> {
  const client = ctx.info.confidential;
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(ctx.meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: client.clientId, redirect_uri: client.redirectUri, scope,
    state: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    ...(scope.includes('offline_access') ? { prompt: 'consent' } : {}),
  }).toString();
  const cookies = new Map<string, string>();
  let next = url.toString();
  for (let hop = 0; hop < 8; hop++) {
    const response = await fetch(next, { redirect: 'manual', headers: { cookie: [...cookies].map(([n, v]) => `${n}=${v}`).join('; ') } });
    await response.arrayBuffer();
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`login stopped with HTTP ${response.status}`);
    const target = new URL(location, next);
    if (target.href.startsWith(client.redirectUri)) {
      const code = target.searchParams.get('code');
      if (!code) throw new Error(`login failed: ${target.searchParams.get('error') ?? 'no code'}`);
      return { code, verifier };
    }
    next = target.toString();
  }
  throw new Error('login did not come back to the redirect_uri');
}

interface TokenResult {
  status: number;
  body: Record<string, unknown>;
}

function exchange(
  ctx: Context,
  login: Login,
  overrides: { redirectUri?: string; secret?: string; headers?: Record<string, string> } = {},
): Promise<TokenResult> {
  return tokenRequest(ctx, {
    grant_type: 'authorization_code', code: login.code,
    redirect_uri: overrides.redirectUri ?? ctx.info.confidential.redirectUri, code_verifier: login.verifier,
  }, overrides);
}

async function tokenRequest(
  ctx: Context,
  form: Record<string, string>,
  overrides: { secret?: string; headers?: Record<string, string> } = {},
): Promise<TokenResult> {
  const client = ctx.info.confidential;
  const response = await fetch(ctx.meta.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(client.clientId, overrides.secret ?? client.clientSecret),
      ...overrides.headers,
    },
    body: new URLSearchParams(form).toString(),
  });
  return read(response);
}

async function read(response: Response): Promise<TokenResult> {
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: response.status, body: {} };
  }
}

function describe(result: TokenResult): string {
  const error = typeof result.body['error'] === 'string' ? ` ${result.body['error']}` : '';
  return `token ${result.status}${error}`;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}
