import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/oauth/rules/index.js', () => ({ ALL_RULES: [] }));

import { OAuthEngine } from '../../src/oauth/engine.js';
import type { FindingDraft, Rule } from '../../src/oauth/rules/types.js';
import type { FindingCode } from '../../src/oauth/catalogue.js';
import { CLIENT_SECRET, TEST_FINGERPRINT_KEY, oauthError, tokenRequest } from '../support/exchanges.js';

const draft = (code: FindingCode, severity: FindingDraft['severity'] = 'error', extra: Partial<FindingDraft> = {}): FindingDraft => ({
  code, severity, title: code, detail: `${code} detail`, fix: 'fix', confidence: 'high', exchangeIds: [], ...extra,
});
const rule = (code: FindingCode, check: Rule['check']): Rule => ({ code, family: 'framing', severity: 'error', check });

describe('rule runner', () => {
  it('contains a throwing rule: others still run, the throw is logged with code and exchange id, counted', () => {
    const logs: Array<{ obj: object; msg: string }> = [];
    const engine = new OAuthEngine({
      fingerprintKey: TEST_FINGERPRINT_KEY,
      logger: { warn: (obj, msg) => void logs.push({ obj, msg }) },
      rules: [
        rule('request.param_hygiene', () => { throw new TypeError('cannot read x of undefined'); }),
        rule('request.wrong_content_type', () => [draft('request.wrong_content_type')]),
      ],
    });
    const c = tokenRequest({ form: { grant_type: 'client_credentials', client_secret: CLIENT_SECRET } });
    const { exchange } = engine.ingest(c, 1);
    expect(exchange.oauth.findings.map((f) => f.code)).toEqual(['request.wrong_content_type']);
    expect(logs[0]?.obj).toMatchObject({ code: 'OAL_ERR_RULE', rule: 'request.param_hygiene', exchangeId: c.id, error: 'TypeError: cannot read x of undefined' });
    expect(engine.stats.ruleErrors).toBe(1);
  });

  it('drops drafts with a code other than the rule\'s own', () => {
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY, rules: [rule('request.redirected', () => [draft('code.reused')])] });
    expect(engine.ingest(tokenRequest({ form: { grant_type: 'client_credentials' } }), 1).exchange.oauth.findings).toEqual([]);
  });

  it('picks the primary by §0.7 (transport > availability > shape > framing > client auth > … > state) and marks others contributing', () => {
    const engine = new OAuthEngine({
      fingerprintKey: TEST_FINGERPRINT_KEY,
      rules: [
        rule('state.missing', () => [draft('state.missing')]),
        rule('redirect_uri.trailing_slash', () => [draft('redirect_uri.trailing_slash')]),
        rule('client.authentication_failed', () => [draft('client.authentication_failed')]),
        rule('request.wrong_content_type', () => [draft('request.wrong_content_type', 'warning')]),
        rule('code.reused', () => [draft('code.reused')]),
      ],
    });
    const { exchange } = engine.ingest(tokenRequest({ form: { grant_type: 'authorization_code', code: 'c-1234567' }, response: oauthError('invalid_client', undefined, 401) }), 1);
    const primary = exchange.oauth.findings.filter((f) => f.primary);
    expect(primary.map((f) => f.code)).toEqual(['client.authentication_failed']);
    expect(exchange.oauth.findings).toHaveLength(5);
    expect(exchange.oauth.findings[0]?.primary).toBe(true);
    expect(exchange.oauth.findings.every((f) => f.exchangeIds.includes(exchange.id) && f.flowId === exchange.oauth.flowId)).toBe(true);
  });

  it('a draft may force primary (R21 #token_call_without_code)', () => {
    const engine = new OAuthEngine({
      fingerprintKey: TEST_FINGERPRINT_KEY,
      rules: [
        rule('request.wrong_content_type', () => [draft('request.wrong_content_type')]),
        rule('authorize.error_returned', () => [draft('authorize.error_returned', 'error', { primary: true })]),
      ],
    });
    const { exchange } = engine.ingest(tokenRequest({ form: { grant_type: 'authorization_code', code: 'undefined' } }), 1);
    expect(exchange.oauth.findings.find((f) => f.primary)?.code).toBe('authorize.error_returned');
  });

  it('probable (score 4–6) token requests only get the rules §3.1 allows', () => {
    const engine = new OAuthEngine({
      fingerprintKey: TEST_FINGERPRINT_KEY,
      rules: [rule('grant_type.invalid', () => [draft('grant_type.invalid')]), rule('response.non_json', () => [draft('response.non_json')])],
    });
    // No grant_type, but a token-ish path and a token response: probable.
    const { exchange } = engine.ingest(tokenRequest({ url: 'https://api.example.org/api/token', form: { code: 'c-123456789' }, response: { status: 200, text: 'nope' } }), 1);
    expect(exchange.oauth.kind).toBe('token');
    expect(exchange.oauth.findings.map((f) => f.code)).toEqual(['response.non_json']);
  });

  it('analysis failure never throws: a minimal exchange without headers, query or bodies', () => {
    const logs: object[] = [];
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY, rules: [], logger: { warn: (o) => void logs.push(o) } });
    const c = tokenRequest({ url: 'https://idp.example.com/oauth/token?client_secret=leaky-secret-1', form: { grant_type: 'client_credentials' } });
    // A hostile capture: headers that are not an array make analysis throw.
    const broken = { ...c, request: { ...c.request, headers: null as unknown as [string, string][] } };
    const { exchange } = engine.ingest(broken, 1);
    expect(exchange.request.url).toBe('https://idp.example.com/oauth/token');
    expect(exchange.request.headers).toEqual([]);
    expect(JSON.stringify(exchange)).not.toContain('leaky-secret-1');
    expect(logs[0]).toMatchObject({ code: 'OAL_ERR_ENGINE' });
    expect(engine.stats.failed).toBe(1);
  });
});
