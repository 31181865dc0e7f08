/** The R01–R05 classifier on its own: properties over generated URIs, plus the named cases of §1.1. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareRedirectUris, nearestRegistered, unencodedSplit } from '../../../src/oauth/rules/redirect-uri-util.js';

const segment = fc.stringMatching(/^[a-z0-9._~-]{1,12}$/);
const host = fc.tuple(segment, fc.constantFrom('com', 'org', 'test')).map(([a, b]) => `${a}.${b}`);
const uri = fc.record({
  scheme: fc.constantFrom('https', 'http'),
  host,
  port: fc.option(fc.integer({ min: 1024, max: 65535 }), { nil: undefined }),
  path: fc.array(segment, { minLength: 1, maxLength: 4 }),
}).map((u) => `${u.scheme}://${u.host}${u.port ? `:${u.port}` : ''}/${u.path.join('/')}`);

describe('compareRedirectUris', () => {
  it('a value is equal to itself and never to anything else', () => {
    fc.assert(fc.property(uri, fc.string(), (a, b) => {
      expect(compareRedirectUris(a, a).equal).toBe(true);
      expect(compareRedirectUris(a, b).equal).toBe(a === b);
    }));
  });

  it('one trailing slash is always classified as trailing_slash, in either direction', () => {
    fc.assert(fc.property(uri, (a) => {
      expect(compareRedirectUris(a, `${a}/`).classes).toEqual(['trailing_slash']);
      expect(compareRedirectUris(`${a}/`, a).primary).toBe('trailing_slash');
    }));
  });

  it('one extra encoding of the whole value is case_encoding', () => {
    fc.assert(fc.property(uri, (a) => {
      expect(compareRedirectUris(a, encodeURIComponent(a)).primary).toBe('case_encoding');
    }));
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
      const d = compareRedirectUris(a, b);
      if (!d.equal) expect(d.classes.length).toBeGreaterThan(0);
    }));
  });

  it('orders several differences: trailing slash first, then scheme', () => {
    const d = compareRedirectUris('https://app.example.com/cb/', 'http://app.example.com/cb');
    expect(d.classes).toEqual(['trailing_slash', 'scheme']);
  });

  it('names the usual host confusions', () => {
    expect(compareRedirectUris('http://localhost:3000/cb', 'http://127.0.0.1:3000/cb').notes[0]).toMatch(/loopback/);
    expect(compareRedirectUris('https://example.com/cb', 'https://www.example.com/cb').notes[0]).toMatch(/apex vs www/);
    expect(compareRedirectUris('https://app.example.com/cb', 'https://10.0.3.7/cb').notes[0]).toMatch(/internal/);
    expect(compareRedirectUris('http://127.0.0.1:5000/cb', 'http://127.0.0.1:5001/cb').loopbackPortOnly).toBe(true);
    expect(compareRedirectUris('http://localhost:5000/cb', 'http://localhost:5001/cb').loopbackPortOnly).toBe(false);
  });

  it('treats +/%20 and %2f/%2F in the query as encoding, a reordered query as path/query', () => {
    expect(compareRedirectUris('https://a.test/cb?x=a+b', 'https://a.test/cb?x=a%20b').primary).toBe('case_encoding');
    expect(compareRedirectUris('https://a.test/cb?r=%2fhome', 'https://a.test/cb?r=%2Fhome').primary).toBe('case_encoding');
    expect(compareRedirectUris('https://a.test/cb?a=1&b=2', 'https://a.test/cb?b=2&a=1').primary).toBe('path_query');
  });
});

describe('nearestRegistered and unencodedSplit', () => {
  it('picks the entry that differs least', () => {
    const near = nearestRegistered('https://app.example.com/callback/', ['http://127.0.0.1:3000/callback', 'https://app.example.com/callback', 'https://staging.example.com/callback']);
    expect(near?.uri).toBe('https://app.example.com/callback');
    expect(near?.diff.primary).toBe('trailing_slash');
  });

  it('recognises a redirect_uri cut at its own "&" or "#"', () => {
    expect(unencodedSplit('https://a.test/cb?x=1', 'https://a.test/cb?x=1&y=2', ['client_id', 'y'])).toBe(true);
    expect(unencodedSplit('https://a.test/cb', 'https://a.test/cb#frag', [])).toBe(true);
    expect(unencodedSplit('https://a.test/cb?x=1', 'https://a.test/cb?x=1&y=2', ['client_id'])).toBe(false);
  });
});
