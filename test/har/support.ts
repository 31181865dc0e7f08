/**
 * Hand-built redacted exchanges for the HAR/curl unit tests, in the display format that
 * src/oauth/redact.ts writes (`[REDACTED name len=N fp=XXXXXXXXXXXX]`, optionally with a shape suffix).
 */
import type { Exchange, Finding, Redacted } from '../../src/model.js';

export function marker(name: string, length: number, fp: string, shape = ''): string {
  return `[REDACTED ${name} len=${length} fp=${fp}${shape ? ` ${shape}` : ''}]`;
}

export const FP = {
  code: 'c0de00000001',
  verifier: 'fe1f00000002',
  secret: '5ec7e0000003',
  access: 'acce55000004',
  refresh: 'ef7e5h000005'.replace('h', 'a'),
} as const;

export const START = Date.UTC(2026, 10, 27, 10, 0, 0, 123);

type Overrides = Partial<Omit<Exchange, 'request' | 'oauth'>> & {
  request?: Partial<Exchange['request']>;
  oauth?: Partial<Exchange['oauth']>;
};

export function makeExchange(overrides: Overrides = {}): Redacted<Exchange> {
  const base: Exchange = {
    id: 'ex-1',
    seq: 1,
    timings: { start: START, upstreamConnected: START + 12.5, requestSent: START + 13, responseHeaders: START + 40, end: START + 41.25 },
    connectTarget: 'idp.example.test:443',
    request: {
      method: 'GET',
      url: 'https://idp.example.test/.well-known/openid-configuration',
      httpVersion: '1.1',
      headers: [['Host', 'idp.example.test'], ['Accept', 'application/json']],
      body: { size: 0, truncated: false },
    },
    response: {
      status: 200,
      statusText: 'OK',
      httpVersion: '1.1',
      headers: [['Content-Type', 'application/json'], ['Content-Length', '24']],
      body: { size: 24, truncated: false, mimeType: 'application/json', text: '{"issuer":"https://idp"}', json: { issuer: 'https://idp' } },
    },
    oauth: { kind: 'discovery', findings: [] },
  };
  return {
    ...base,
    ...overrides,
    request: { ...base.request, ...overrides.request },
    oauth: { ...base.oauth, ...overrides.oauth },
  } as Redacted<Exchange>;
}

export function reusedCodeFinding(exchangeIds: string[]): Finding {
  return {
    code: 'code.reused',
    severity: 'error',
    title: 'Authorization code used twice',
    detail: `The code ${marker('code', 43, FP.code)} was already redeemed by an earlier token request.`,
    fix: 'Make the code exchange idempotent.',
    evidence: { codeFp: `${FP.code}0123456789abcdef0123`, firstExchange: exchangeIds[0], deltaMs: 812, traceId: 'abcdef0123456789' },
    confidence: 'high',
    exchangeIds,
    flowId: 'flow-1',
    primary: true,
  };
}

/** A confidential-client code exchange with PKCE, Basic auth, and a JSON token response. */
export function tokenExchange(id = 'ex-2', seq = 2, extra: Overrides = {}): Redacted<Exchange> {
  const form: Array<[string, string]> = [
    ['grant_type', 'authorization_code'],
    ['code', marker('code', 43, FP.code)],
    ['redirect_uri', 'https://app.example.test/callback/'],
    ['code_verifier', marker('code_verifier', 64, FP.verifier)],
  ];
  const text = form.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&');
  const json = { access_token: marker('access_token', 120, FP.access, 'jwt:RS256'), token_type: 'Bearer', expires_in: 3600, refresh_token: marker('refresh_token', 40, FP.refresh) };
  return makeExchange({
    id,
    seq,
    timings: { start: START + seq * 1000, upstreamConnected: START + seq * 1000 + 3, requestSent: START + seq * 1000 + 4, responseHeaders: START + seq * 1000 + 30, end: START + seq * 1000 + 31 },
    request: {
      method: 'POST',
      url: 'https://idp.example.test/oauth/token',
      httpVersion: '1.1',
      headers: [
        ['Host', 'idp.example.test'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Authorization', `Basic [client_id=backend-app]:${marker('client_secret', 40, FP.secret)}`],
        ['Accept', 'application/json'],
        ['Content-Length', String(text.length)],
        ['Connection', 'keep-alive'],
      ],
      body: { size: 180, truncated: false, mimeType: 'application/x-www-form-urlencoded', text, form },
    },
    response: {
      status: 200,
      statusText: 'OK',
      httpVersion: '1.1',
      headers: [['Content-Type', 'application/json; charset=utf-8'], ['Cache-Control', 'no-store'], ['Set-Cookie', 'sid=[REDACTED cookie:sid len=32 fp=5e5510000006 hex]; Path=/; HttpOnly; Secure; SameSite=Lax']],
      body: { size: 300, truncated: false, mimeType: 'application/json', text: JSON.stringify(json), json },
    },
    oauth: { kind: 'token', grantType: 'authorization_code', flowId: 'flow-1', clientId: 'backend-app', findings: [] },
    ...extra,
  });
}
