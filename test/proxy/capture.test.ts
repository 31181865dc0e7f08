/** Capture helpers: decompressed inspection copies (never throw), the body tap cap, and the log line. */
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyTap } from '../../src/capture/body-tap.js';
import { decodeBody } from '../../src/capture/decode.js';
import { createLogger, exchangeLine, logExchange } from '../../src/log.js';

const TEXT = Buffer.from('{"access_token":"abc","token_type":"Bearer"}'.repeat(50));

describe('decodeBody', () => {
  it('decodes gzip, deflate (zlib and raw), br and stacked encodings', () => {
    expect(decodeBody(zlib.gzipSync(TEXT), 'gzip').decoded).toEqual(TEXT);
    expect(decodeBody(zlib.deflateSync(TEXT), 'deflate').decoded).toEqual(TEXT);
    expect(decodeBody(zlib.deflateRawSync(TEXT), 'deflate').decoded).toEqual(TEXT);
    expect(decodeBody(zlib.brotliCompressSync(TEXT), 'br').decoded).toEqual(TEXT);
    expect(decodeBody(zlib.brotliCompressSync(zlib.gzipSync(TEXT)), 'gzip, br').decoded).toEqual(TEXT);
  });

  it('leaves identity alone and reports garbage or unknown encodings without throwing', () => {
    expect(decodeBody(TEXT, undefined)).toEqual({});
    expect(decodeBody(TEXT, 'identity')).toEqual({});
    expect(decodeBody(Buffer.from('not gzip'), 'gzip').decodeError).toBeTruthy();
    expect(decodeBody(TEXT, 'zstd').decodeError).toContain('unsupported');
  });

  it('decodes a truncated capture as far as it goes and says so', () => {
    const gz = zlib.gzipSync(TEXT);
    const result = decodeBody(gz.subarray(0, Math.floor(gz.length / 2)), 'gzip', true);
    expect(result.decodeError).toContain('partial');
    expect(TEXT.subarray(0, result.decoded!.length)).toEqual(result.decoded);
  });

  it('refuses to inflate a bomb past the cap', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024));
    expect(decodeBody(bomb, 'gzip').decodeError).toContain('larger than');
  });
});

describe('BodyTap', () => {
  it('keeps the first `limit` bytes and the full size', () => {
    const stream = new PassThrough();
    const tap = new BodyTap(10).attach(stream);
    stream.write(Buffer.from('0123456'));
    stream.write(Buffer.from('789abcdef'));
    const body = tap.snapshot();
    expect(body.bytes.toString()).toBe('0123456789');
    expect(body).toMatchObject({ size: 16, truncated: true });
  });
});

describe('the per-exchange log line', () => {
  const exchange = {
    id: 'x1',
    timings: { start: 1000, end: 1012.34 },
    request: { method: 'POST', url: 'https://idp.example:8443/oauth/token?code=SECRET&state=s#frag' },
    response: { status: 400 },
  };

  it('has method, host, path without query, status and duration only', () => {
    expect(exchangeLine(exchange)).toEqual({ id: 'x1', method: 'POST', host: 'idp.example:8443', path: '/oauth/token', status: 400, durationMs: 12.3 });
    expect(exchangeLine({ ...exchange, response: undefined, error: { code: 'refused' } })).toMatchObject({ error: 'refused' });
    expect(exchangeLine({ ...exchange, request: { method: 'CONNECT', url: '127.0.0.1:9?x=1' } })).toMatchObject({ host: '127.0.0.1:9', path: '' });
  });

  it('writes JSON without the query, and pino redact paths back it up', () => {
    const out: string[] = [];
    const logger = createLogger({ destination: { write: (s: string) => void out.push(s) }, pretty: false });
    logExchange(logger, exchange);
    logger.info({ headers: { authorization: 'Bearer LEAK' }, form: { client_secret: 'LEAK2' } }, 'backstop');
    const text = out.join('');
    expect(text).toContain('"path":"/oauth/token"');
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('LEAK');
  });
});
