import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ConfigError, parseConfig } from '../../src/oauth/config-validate.js';
import { DEFAULT_THRESHOLDS } from '../../src/oauth/config.js';
import { configCheck } from '../../src/cli/config.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const problems = (value: unknown): string[] => {
  try {
    parseConfig(value);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('config validation', () => {
  it('accepts the documented example and fills threshold defaults', () => {
    const config = parseConfig({
      clients: [{ name: 'prod', clientId: 'c1', redirectUris: ['https://app.example.com/callback'], scopes: ['openid', 'profile'], secretSha256: [sha('s').toUpperCase()] }],
      tokenEndpoints: ['https://idp.example.com/oauth/token'],
      thresholds: { codeMaxAgeMs: 60000, retryStorm: { count: 5, windowMs: 10000 }, failureRateAlert: 0.05 },
    });
    expect(config.clients[0]?.secretSha256).toEqual([sha('s')]);
    expect(config.thresholds.retryStorm).toEqual({ count: 5, windowMs: 10000 });
    expect(config.thresholds.stateMaxLength).toBe(DEFAULT_THRESHOLDS.stateMaxLength);
  });

  it('names the key and the reason for every problem, unknown keys included', () => {
    expect(problems({ client: [] })).toEqual([expect.stringMatching(/^client: unknown key/)]);
    expect(problems({ clients: [{ name: 'p', clientId: 'c', redirectUri: 'x' }] })).toEqual([expect.stringMatching(/^clients\[0\]\.redirectUri: unknown key/)]);
    expect(problems({ clients: [{ clientId: 'c', secretSha256: ['abc'] }] })).toEqual([
      'clients[0].name: is required',
      expect.stringMatching(/^clients\[0\]\.secretSha256\[0\]: must be 64 hex characters/),
    ]);
    expect(problems({ clients: [{ name: 'p', clientId: 'c ', redirectUris: ['/relative'] }] })).toEqual([
      'clients[0].clientId: has leading or trailing whitespace',
      'clients[0].redirectUris[0]: must be an absolute URL',
    ]);
    expect(problems({ thresholds: { retryStorm: { count: 1 }, failureRateAlert: 2, codeMaxAgems: 1 } })).toEqual([
      expect.stringMatching(/^thresholds\.codeMaxAgems: unknown key/),
      'thresholds.retryStorm.count: must be between 2 and 10000',
      'thresholds.failureRateAlert: must be between 0 and 1',
    ]);
    expect(problems({ clients: [{ name: 'a', clientId: 'x' }, { name: 'a', clientId: 'y' }] })).toEqual(['clients[1].name: duplicate name "a"']);
    expect(problems([])).toEqual(['(root): must be a JSON object']);
  });
});

describe('oauth-lens config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oal-config-'));
  const run = (content: string) => {
    const file = join(dir, `c${Math.random()}.json`);
    writeFileSync(file, content);
    let out = '';
    let err = '';
    const code = configCheck(file, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };

  it('prints what a valid file enables, per client', () => {
    const r = run(JSON.stringify({
      clients: [
        { name: 'prod', clientId: 'web-prod', redirectUris: ['https://app.example.com/callback'], scopes: ['openid'], secretSha256: [sha('p')] },
        { name: 'staging', clientId: 'web-stg', secretSha256: [sha('s')], redirectUris: ['http://staging.example.com/cb'] },
      ],
      thresholds: { codeMaxAgeMs: 300000 },
    }));
    expect(r.code).toBe(0);
    expect(r.out).toContain('client "prod" (client_id web-prod)');
    expect(r.out).toMatch(/redirect_uri\.not_registered .* https:\/\/app\.example\.com\/callback/);
    expect(r.out).toContain('scope.invalid for any requested scope outside: openid');
    expect(r.out).toContain('client.env_mismatch');
    expect(r.out).toContain('codeMaxAgeMs=300000 (default 600000)');
    expect(r.err).toContain('uses http on a non-loopback host');
  });

  it('exits 1 with the problems listed for an invalid file or bad JSON', () => {
    const bad = run('{"clients": [{"name": "x"}], "extra": 1}');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('clients[0].clientId: is required');
    expect(bad.err).toContain('extra: unknown key');
    const notJson = run('{ nope');
    expect(notJson.code).toBe(1);
    expect(notJson.err).toMatch(/not valid JSON/);
  });
});
