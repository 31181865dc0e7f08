import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/oauth/rules/index.js', () => ({ ALL_RULES: [] }));

import { OAuthEngine } from '../../src/oauth/engine.js';
import { parseConfig } from '../../src/oauth/config-validate.js';
import { T, TEST_FINGERPRINT_KEY, oauthError, tokenRequest } from '../support/exchanges.js';

describe('failure-rate alert', () => {
  it('raises one alert per host when failures exceed thresholds.failureRateAlert, re-arming after recovery', () => {
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY, rules: [], config: parseConfig({ thresholds: { failureRateAlert: 0.2 } }) });
    const send = (i: number, ok: boolean) => {
      const c = tokenRequest({ form: { grant_type: 'client_credentials' }, ...(ok ? {} : { response: oauthError('invalid_client', undefined, 401) }) });
      return engine.ingest({ ...c, timings: { ...c.timings, start: T(i) } }, i + 1).alerts;
    };
    const alerts = [];
    for (let i = 0; i < 10; i++) alerts.push(...send(i, i % 10 !== 0)); // 1 of 10 failed: 10 % ≤ 20 %
    expect(alerts).toEqual([]);
    for (let i = 10; i < 14; i++) alerts.push(...send(i, false)); // 5 of 14 failed: 36 %
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ code: 'oauth.failure_rate', details: { host: 'idp.example.com', threshold: 0.2 } });
    expect(alerts[0]?.message).toMatch(/^\d+% of token requests to idp\.example\.com failed in the last 5 min/);
    for (let i = 14; i < 18; i++) alerts.push(...send(i, false));
    expect(alerts).toHaveLength(1); // not repeated while still failing
  });
});
