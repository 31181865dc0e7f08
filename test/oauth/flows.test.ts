import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/oauth/rules/index.js', () => ({ ALL_RULES: [] }));

import { OAuthEngine } from '../../src/oauth/engine.js';
import type { Correlation, Rule } from '../../src/oauth/rules/types.js';
import {
  CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, TEST_FINGERPRINT_KEY, authorizeRedirect, authorizeRequest, callbackRequest,
  oauthError, tokenRequest, tokenSuccess,
} from '../support/exchanges.js';
import type { CapturedExchange } from '../../src/capture/types.js';

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const CODE = '4/0AfJohXl-some-code-value';

/** Records the correlation each exchange gets on its last evaluation. */
function recorder() {
  const seen = new Map<string, Correlation>();
  const rule: Rule = { code: 'capture.exchange_not_observed', family: 'transport', severity: 'info', check(ex, ctx) {
    seen.set(ex.id, ctx.correlation);
    return [];
  } };
  return { seen, rule };
}

function run(list: CapturedExchange[], rules: Rule[]) {
  const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY, rules });
  return list.map((c, i) => engine.ingest({ ...c, timings: { ...c.timings, start: T(i * 5) } }, i + 1));
}

const authz = (extra: Record<string, string> = {}) => authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: 'state-abc-123', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra });

describe('correlation', () => {
  it('authorize ↔ authorization response ↔ callback ↔ token by state and code fp; one flow id', () => {
    const { seen, rule } = recorder();
    const list = [authz(), authorizeRedirect({ code: CODE, state: 'state-abc-123' }), callbackRequest({ code: CODE, state: 'state-abc-123' }),
      tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, basic: [CLIENT_ID, CLIENT_SECRET] })];
    const out = run(list, [rule]);
    expect(new Set(out.map((o) => o.exchange.oauth.flowId))).toEqual(new Set(['flow-1']));
    const token = seen.get(list[3]!.id)!;
    expect(token.authorize?.id).toBe(list[0]!.id);
    expect(token.authorizeLink).toBe('code');
    expect(token.authorizeResponse?.id).toBe(list[1]!.id);
    expect(token.codeMatchedBy).toBe('exact');
    expect(token.callbacks.map((c) => c.id)).toEqual([list[2]!.id]);
    expect(token.pkceMatches.map((a) => a.id)).toEqual([list[0]!.id]);
    expect(seen.get(list[2]!.id)?.authorize?.id).toBe(list[0]!.id);
  });

  it('token ↔ authorize by PKCE alone when the browser leg was not captured', () => {
    const { seen, rule } = recorder();
    const list = [authz(), tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, code_verifier: VERIFIER } })];
    const out = run(list, [rule]);
    expect(seen.get(list[1]!.id)?.authorizeLink).toBe('pkce');
    expect(out[1]!.exchange.oauth.flowId).toBe(out[0]!.exchange.oauth.flowId);
  });

  it('a code altered by one extra encoding still links, naming the transform (R18)', () => {
    const { seen, rule } = recorder();
    const list = [authz(), authorizeRedirect({ code: CODE, state: 'state-abc-123' }),
      tokenRequest({ body: `grant_type=authorization_code&code=${encodeURIComponent(encodeURIComponent(CODE))}`, contentType: 'application/x-www-form-urlencoded' })];
    run(list, [rule]);
    // The AS received '4%2F0A…': decoding it once more gives the issued code, i.e. the client encoded twice.
    expect(seen.get(list[2]!.id)?.codeMatchedBy).toBe('decoded');
  });

  it('same code twice: the first exchange is re-evaluated and sees the later one (live update)', () => {
    const { seen, rule } = recorder();
    const form = { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI };
    const list = [authorizeRedirect({ code: CODE, state: 's1' }), tokenRequest({ form }), tokenRequest({ form, response: oauthError('invalid_grant') })];
    run(list, [rule]);
    expect(seen.get(list[2]!.id)?.sameCodeEarlier.map((x) => x.id)).toEqual([list[1]!.id]);
    expect(seen.get(list[1]!.id)?.sameCodeLater.map((x) => x.id)).toEqual([list[2]!.id]);
  });

  it('refresh chain: issuedBy, rotation, reuse', () => {
    const { seen, rule } = recorder();
    const list = [
      tokenRequest({ form: { grant_type: 'authorization_code', code: CODE }, response: tokenSuccess({ refresh_token: 'rt-one-123456' }) }),
      tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: 'rt-one-123456' }, response: tokenSuccess({ refresh_token: 'rt-two-123456' }) }),
      tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: 'rt-one-123456' }, response: oauthError('invalid_grant') }),
    ];
    const out = run(list, [rule]);
    const third = seen.get(list[2]!.id)!;
    expect(third.refreshIssuedBy?.id).toBe(list[0]!.id);
    expect(third.sameRefreshEarlier.map((x) => x.id)).toEqual([list[1]!.id]);
    expect(third.refreshRotatedBy?.id).toBe(list[1]!.id);
    expect(out[2]!.exchange.oauth.flowId).toBe(out[0]!.exchange.oauth.flowId);
  });

  it('same-host windows and the learned-secret first sighting (R10 without config)', () => {
    const { seen, rule } = recorder();
    const cc = (url?: string, throttled = false) => tokenRequest({ ...(url ? { url } : {}), form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      ...(throttled ? { response: { status: 429, headers: { 'Retry-After': '30' }, json: { error: 'slow_down' } } } : {}) });
    // The first is throttled, so it is re-evaluated when the next request to that host arrives (R47 Retry-After ignored).
    const list = [cc(undefined, true), cc(), cc('https://idp.staging.example.com/oauth/token')];
    run(list, [rule]);
    expect(seen.get(list[1]!.id)?.sameHostEarlier.map((x) => x.id)).toEqual([list[0]!.id]);
    expect(seen.get(list[0]!.id)?.sameHostLater.map((x) => x.id)).toEqual([list[1]!.id]);
    expect(seen.get(list[1]!.id)?.sameClientEarlier.map((x) => x.id)).toEqual([list[0]!.id]);
    expect(seen.get(list[2]!.id)?.secretFirstSeen).toMatchObject({ exchangeId: list[0]!.id, host: 'idp.example.com' });
  });

  it('memory stays bounded: exchanges beyond maxExchanges are forgotten', () => {
    const { seen, rule } = recorder();
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY, rules: [rule], flowLimits: { maxExchanges: 50 } });
    const send = (i: number, code: string) => {
      const c = tokenRequest({ form: { grant_type: 'authorization_code', code } });
      engine.ingest({ ...c, timings: { ...c.timings, start: T(i) } }, i + 1);
      return c.id;
    };
    send(0, 'the-first-code-123');
    const recent = send(1, 'a-recent-code-456');
    for (let i = 2; i < 300; i++) send(i, i === 290 ? 'a-recent-code-456' : `code-${i}-abcdef`);
    const again = send(300, 'the-first-code-123');
    expect(seen.get(again)?.sameCodeEarlier).toEqual([]); // evicted long ago
    const last = send(301, 'a-recent-code-456');
    expect(seen.get(last)?.sameCodeEarlier.map((x) => x.id)).toHaveLength(1); // the one at 290 is still known, the one at 1 is not
    expect(seen.get(last)?.sameCodeEarlier[0]?.id).not.toBe(recent);
  });
});

describe('re-evaluation after the capture gap', () => {
  it('an authorization response is evaluated again once captureGapMs has passed, whatever exchange arrives then', () => {
    const nows: number[] = [];
    const rule: Rule = { code: 'capture.exchange_not_observed', family: 'transport', severity: 'info', kinds: ['authorize_response'], check(_ex, ctx) {
      nows.push(ctx.now);
      return [];
    } };
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY, rules: [rule] });
    const callback = callbackRequest({ code: CODE, state: 'state-abc-123' });
    engine.ingest({ ...callback, timings: { ...callback.timings, start: T(0) } }, 1);
    const unrelated = (i: number) => {
      const c = tokenRequest({ url: 'https://elsewhere.example.com/oauth/token', form: { grant_type: 'client_credentials' } });
      engine.ingest({ ...c, timings: { ...c.timings, start: T(i) } }, i + 1);
    };
    unrelated(10);
    expect(nows).toEqual([T(0)]); // 10 s later: not yet
    unrelated(31);
    expect(nows).toEqual([T(0), T(31)]); // past the 30 s gap: evaluated with now = 31 s
    unrelated(40);
    expect(nows).toHaveLength(2); // only once
  });
});
