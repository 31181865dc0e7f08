import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Fingerprinter, loadFingerprintKey, pkceS256, valueAnomalies } from '../../src/oauth/fingerprint.js';

describe('fingerprint key', () => {
  it('is created once as 32 random bytes with mode 0600 and reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oal-fp-'));
    const k1 = loadFingerprintKey(join(dir, 'certs'));
    expect(k1).toHaveLength(32);
    expect(statSync(join(dir, 'certs', 'fingerprint.key')).mode & 0o777).toBe(0o600);
    expect(loadFingerprintKey(join(dir, 'certs')).equals(k1)).toBe(true);
    const other = loadFingerprintKey(mkdtempSync(join(tmpdir(), 'oal-fp-')));
    expect(other.equals(k1)).toBe(false);
  });

  it('rejects a corrupt key file with a stable code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oal-fp-'));
    writeFileSync(join(dir, 'fingerprint.key'), 'short');
    expect(() => loadFingerprintKey(dir)).toThrow(expect.objectContaining({ code: 'OAL_ERR_FP_KEY' }));
    expect(readFileSync(join(dir, 'fingerprint.key'), 'utf8')).toBe('short');
  });
});

describe('fingerprints', () => {
  const fp = new Fingerprinter(Buffer.alloc(32, 9));

  it('are keyed HMACs per kind, 32 hex, never the plain SHA-256', () => {
    const a = fp.fp('code', 'abc');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(fp.fp('code', 'abc')).toBe(a);
    expect(fp.fp('refresh_token', 'abc')).not.toBe(a);
    expect(new Fingerprinter(Buffer.alloc(32, 8)).fp('code', 'abc')).not.toBe(a);
    expect(createHash('sha256').update('abc').digest('hex')).not.toContain(a);
  });

  it('SecretRef: display marker, trimmed fp, anomalies, variants, registry match', () => {
    const secret = 'top-secret-value';
    const sha = createHash('sha256').update(secret).digest('hex');
    const ref = fp.mint('client_secret', 'client_secret', `${secret}\n`, { variants: true, registry: [{ client: 'prod', clientId: 'c1', sha256: [sha] }] });
    expect(ref.display).toBe(`[REDACTED client_secret len=17 fp=${ref.fp.slice(0, 12)}]`);
    expect(ref.trimmedFp).toBe(fp.fp('client_secret', secret));
    expect(ref.anomalies).toEqual(['trailing_whitespace', 'cr_lf']);
    expect(ref.registeredAs).toEqual([{ client: 'prod', clientId: 'c1', trimmed: true }]);
    expect(ref.variants?.trimmed).toBe(fp.fp('client_secret', secret));
    expect(JSON.stringify(ref)).not.toContain(secret);
  });

  it('anomalies of credential-like values (R11)', () => {
    expect(valueAnomalies('')).toEqual(['empty']);
    expect(valueAnomalies('"abc"')).toContain('quotes');
    expect(valueAnomalies('${CLIENT_SECRET}')).toContain('placeholder');
    expect(valueAnomalies('undefined')).toContain('literal');
    expect(valueAnomalies(' x')).toContain('leading_whitespace');
    expect(valueAnomalies('good-value')).toEqual([]);
  });

  it('PKCE S256 matches RFC 7636 Appendix B', () => {
    expect(pkceS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });
});
