import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';

vi.mock('../../src/oauth/rules/index.js', () => ({ ALL_RULES: [] }));

import { OAuthEngine } from '../../src/oauth/engine.js';
import type { CapturedExchange } from '../../src/capture/types.js';
import { TEST_FINGERPRINT_KEY } from '../support/exchanges.js';

const text = fc.string({ unit: 'binary', maxLength: 200 });
const headerArb = fc.array(fc.tuple(fc.constantFrom('Content-Type', 'Authorization', 'Cookie', 'Set-Cookie', 'Location', 'Content-Encoding', 'Referer', 'X-Api-Key', 'Retry-After', 'WWW-Authenticate', 'X-Other'), text), { maxLength: 8 });
const bodyArb = fc.oneof(
  text.map((t) => Buffer.from(t)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.dictionary(fc.constantFrom('grant_type', 'code', 'client_secret', 'state', 'redirect_uri', 'x'), text).map((d) => Buffer.from(new URLSearchParams(d).toString())),
  fc.jsonValue().map((j) => Buffer.from(JSON.stringify(j) ?? 'null')),
);
const urlArb = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), text);

describe('engine robustness', () => {
  it('ingest never throws and always returns an exchange, whatever the capture holds', () => {
    const engine = new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY });
    let seq = 0;
    fc.assert(fc.property(
      fc.constantFrom('GET', 'POST', 'PUT', 'OPTIONS', 'weird method'), urlArb, headerArb, bodyArb,
      fc.option(fc.record({ status: fc.integer({ min: 100, max: 599 }), headers: headerArb, body: bodyArb })),
      fc.boolean(),
      (method, url, headers, body, response, truncated) => {
        const captured: CapturedExchange = {
          id: `r${++seq}`,
          timings: { start: 1_700_000_000_000 + seq },
          request: { method, url, httpVersion: '1.1', headers, body: { bytes: body, size: body.length, truncated } },
          ...(response ? { response: { status: response.status, statusText: 'x', httpVersion: '1.1', headers: response.headers, body: { bytes: response.body, size: response.body.length, truncated } } } : { error: { code: 'reset', message: 'socket hang up' } }),
        };
        const { exchange } = engine.ingest(captured, seq);
        expect(exchange.id).toBe(captured.id);
        expect(typeof exchange.oauth.kind).toBe('string');
      },
    ), { numRuns: 500, seed: 7 });
    expect(engine.stats.failed).toBe(0);
  });
});
