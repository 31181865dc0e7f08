/** Live updates with the real rules: findings of an earlier exchange change when later traffic arrives. */
import { describe, expect, it } from 'vitest';
import { OAuthEngine } from '../../src/oauth/engine.js';
import { T, TEST_FINGERPRINT_KEY, callbackRequest, exchange, tokenRequest } from '../support/exchanges.js';

describe('live updates (real rules)', () => {
  it('a callback whose code never reaches the token endpoint gains capture.exchange_not_observed once the gap has passed', () => {
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY });
    const callback = callbackRequest({ code: 'code-never-exchanged-123', state: 'state-abc-123' });
    const first = engine.ingest({ ...callback, timings: { ...callback.timings, start: T(0) } }, 1);
    expect(first.exchange.oauth.findings.map((f) => f.code)).not.toContain('capture.exchange_not_observed');
    const later = exchange({ url: 'https://cdn.example.net/app.js', response: { status: 200, html: '<title>Home</title>' } });
    const { updated } = engine.ingest({ ...later, timings: { ...later.timings, start: T(45) } }, 2);
    const again = updated.find((u) => u.id === callback.id);
    expect(again?.oauth.findings.map((f) => f.code)).toContain('capture.exchange_not_observed');
    expect(again?.seq).toBe(1);
  });

  it('a callback whose code was exchanged in time stays clean', () => {
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY });
    const callback = callbackRequest({ code: 'code-exchanged-123456', state: 'state-abc-123' });
    engine.ingest({ ...callback, timings: { ...callback.timings, start: T(0) } }, 1);
    const token = tokenRequest({ form: { grant_type: 'authorization_code', code: 'code-exchanged-123456', redirect_uri: 'https://app.example.com/callback' } });
    engine.ingest({ ...token, timings: { ...token.timings, start: T(1) } }, 2);
    const later = exchange({ url: 'https://app.example.com/home', response: { status: 200, html: '<title>Home</title>' } });
    const { updated } = engine.ingest({ ...later, timings: { ...later.timings, start: T(45) } }, 3);
    expect(updated.find((u) => u.id === callback.id)?.oauth.findings.map((f) => f.code) ?? []).not.toContain('capture.exchange_not_observed');
  });
});
