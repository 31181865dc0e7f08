import { describe, expect, it } from 'vitest';
import { harToCaptured, parseHarText } from '../../src/har/from-har.js';

const entry = (over: Record<string, unknown> = {}) => ({
  startedDateTime: '2026-11-27T10:00:00.000Z',
  request: { method: 'GET', url: 'https://idp.example.test/x', headers: [] },
  response: { status: 200, headers: [], content: { size: 2, text: 'ok' } },
  ...over,
});

describe('harToCaptured', () => {
  it('turns HAR durations into phase timestamps, skipping -1 phases', () => {
    const [c] = harToCaptured({ log: { entries: [entry({ timings: { blocked: 1, dns: -1, connect: 5, ssl: 3, send: 0.5, wait: 20, receive: 2 } })] } }).exchanges;
    const start = Date.parse('2026-11-27T10:00:00.000Z');
    expect(c!.timings).toEqual({ start, upstreamConnected: start + 6, requestSent: start + 6.5, responseHeaders: start + 26.5, end: start + 28.5 });
    // ssl longer than connect: written apart (mitmproxy, Charles), so both count.
    const [apart] = harToCaptured({ log: { entries: [entry({ timings: { connect: 1, ssl: 4, send: 0, wait: 1, receive: 0 } })] } }).exchanges;
    expect(apart!.timings.upstreamConnected! - apart!.timings.start).toBe(5);
    // No timings at all, only `time`.
    const [bare] = harToCaptured({ log: { entries: [entry({ time: 42 })] } }).exchanges;
    expect(bare!.timings.end! - bare!.timings.start).toBe(42);
  });

  it('orders by start time, keeps file order on ties, and numbers ids by file position', () => {
    const { exchanges } = harToCaptured({ log: { entries: [
      entry({ startedDateTime: '2026-11-27T10:00:02.000Z' }),
      entry({ startedDateTime: '2026-11-27T10:00:01.000Z' }),
      entry({ startedDateTime: '2026-11-27T10:00:01.000Z' }),
    ] } });
    expect(exchanges.map((e) => e.id)).toEqual(['har-2', 'har-3', 'har-1']);
  });

  it('decodes base64 request and response bodies and marks compressed ones as already decoded', () => {
    const [c] = harToCaptured({ log: { entries: [entry({
      request: { method: 'POST', url: 'https://i/t', headers: [{ name: 'Content-Type', value: 'application/json' }], postData: { mimeType: 'application/json', text: Buffer.from('{"a":1}').toString('base64'), encoding: 'base64' } },
      response: { status: 200, bodySize: 30, headers: [{ name: 'Content-Encoding', value: 'br' }], content: { size: 9, text: Buffer.from('{"b":2}').toString('base64'), encoding: 'base64' } },
    })] } }).exchanges;
    expect(c!.request.body.bytes.toString()).toBe('{"a":1}');
    expect(c!.response!.body.decoded?.toString()).toBe('{"b":2}');
    expect(c!.response!.body.size).toBe(30);
    expect(c!.connectTarget).toBe('i:443');
  });

  it('treats a missing response text with a size as a truncated capture, and versions as Node writes them', () => {
    const [c] = harToCaptured({ log: { entries: [entry({ request: { method: 'get', url: 'http://i/x', httpVersion: 'HTTP/2' }, response: { status: 204, httpVersion: 'h3', content: { size: 100 } } })] } }).exchanges;
    expect(c!.request.method).toBe('GET');
    expect(c!.request.httpVersion).toBe('2.0');
    expect(c!.response!.httpVersion).toBe('3.0');
    expect(c!.response!.body).toMatchObject({ truncated: true, size: 100 });
    expect(c!.connectTarget).toBeUndefined();
  });

  it('maps browser error texts to transport codes without carrying the text', () => {
    const errors = ['net::ERR_NAME_NOT_RESOLVED', 'net::ERR_CERT_AUTHORITY_INVALID', 'net::ERR_TIMED_OUT', 'net::ERR_ABORTED', 'weird https://secret.example/?code=abc'];
    const { exchanges } = harToCaptured({ log: { entries: errors.map((e) => entry({ response: { status: 0, _error: e } })) } });
    expect(exchanges.map((e) => e.error?.code)).toEqual(['dns', 'tls_untrusted', 'timeout', 'client_aborted', 'other']);
    expect(JSON.stringify(exchanges.map((e) => e.error))).not.toContain('code=abc');
  });

  it('parses text with a byte-order mark, and never quotes bad input in the error', () => {
    expect(parseHarText('\ufeff{"log":{"entries":[]}}')).toEqual({ log: { entries: [] } });
    expect(() => parseHarText('{"log": "client_secret=hunter2-very-secret"')).toThrow(expect.objectContaining({ code: 'OAL_ERR_HAR_INVALID', message: 'not a HAR file: the content is not JSON' }));
  });
});
