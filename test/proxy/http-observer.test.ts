/**
 * The observer the tunnel relay uses to follow each direction of a tunnel: whatever the chunking, it must see
 * the same messages, heads, bodies and ends as the peers do, and never throw on bad input.
 */
import { describe, expect, it } from 'vitest';
import { HttpObserver, type HeadVerdict, type MessageHead } from '../../src/proxy/http-observer.js';

interface Seen {
  head: MessageHead;
  body: Buffer;
  complete: boolean;
}

function observe(kind: 'request' | 'response', verdict: (head: MessageHead, seen: Seen[]) => HeadVerdict = () => 'body') {
  const seen: Seen[] = [];
  let begins = 0;
  const observer = new HttpObserver(kind, {
    begin: () => { begins++; },
    head: (head) => {
      seen.push({ head, body: Buffer.alloc(0), complete: false });
      return verdict(head, seen);
    },
    body: (chunk) => {
      const last = seen[seen.length - 1]!;
      last.body = Buffer.concat([last.body, chunk]);
    },
    complete: () => { seen[seen.length - 1]!.complete = true; },
  });
  return { observer, seen, begins: () => begins };
}

/** Feeds `bytes` cut at `cuts`; returns the first error. */
function feedCut(observer: HttpObserver, bytes: Buffer, cuts: number[]): Error | undefined {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    const err = observer.feed(bytes.subarray(at, cut));
    if (err) return err;
    at = cut;
  }
  return undefined;
}

const big = Buffer.alloc(10_000, 'b'); // above the size from which bodies are sliced rather than copied
const requests = Buffer.concat([
  Buffer.from('POST /token?x=1 HTTP/1.1\r\nHost: idp.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\ngrant_type=a'),
  Buffer.from(`PUT /big HTTP/1.1\r\nHost: idp.test\r\nContent-Length: ${big.length}\r\n\r\n`), big,
  Buffer.from('POST /chunked HTTP/1.1\r\nHost: idp.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'),
  Buffer.from('GET /done HTTP/1.0\r\nhOsT: idp.test\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n'),
]);

function expectRequests(seen: Seen[]): void {
  expect(seen.map((s) => [s.head.method, s.head.url, s.head.httpVersion, s.complete])).toEqual([
    ['POST', '/token?x=1', '1.1', true],
    ['PUT', '/big', '1.1', true],
    ['POST', '/chunked', '1.1', true],
    ['GET', '/done', '1.0', true],
  ]);
  expect(seen[0]!.body.toString()).toBe('grant_type=a');
  expect(seen[1]!.body.equals(big)).toBe(true);
  expect(seen[2]!.body.toString()).toBe('hello world');
  expect(seen[3]!.body.length).toBe(0);
  // Names as sent, in order, repeated headers kept.
  expect(seen[3]!.head.rawHeaders).toEqual(['hOsT', 'idp.test', 'X-Dup', '1', 'X-Dup', '2']);
}

describe('HttpObserver', () => {
  it('is available on this Node', () => {
    expect(HttpObserver.available).toBe(true);
  });

  it('follows pipelined requests with content-length, sliced, chunked and empty bodies in one chunk', () => {
    const { observer, seen, begins } = observe('request');
    expect(observer.feed(requests)).toBeUndefined();
    expectRequests(seen);
    expect(begins()).toBe(4);
  });

  it('sees the same messages however the stream is cut', () => {
    // Every single cut point, and byte-at-a-time across the heads and the sliced body's edges.
    for (let cut = 1; cut < requests.length; cut += cut < 400 || cut > requests.length - 400 ? 1 : 97) {
      const { observer, seen } = observe('request');
      expect(feedCut(observer, requests, [cut])).toBeUndefined();
      expectRequests(seen);
    }
    const { observer, seen } = observe('request');
    expect(feedCut(observer, requests, Array.from({ length: requests.length - 1 }, (_, i) => i + 1))).toBeUndefined();
    expectRequests(seen);
  });

  it('keeps long header blocks that arrive in parts', () => {
    const long = 'v'.repeat(20_000);
    const bytes = Buffer.from(`GET /long HTTP/1.1\r\nHost: a\r\nX-Long: ${long}\r\nX-After: 1\r\n\r\n`);
    const { observer, seen } = observe('request');
    expect(feedCut(observer, bytes, [10, 5000, 12_000, 19_999])).toBeUndefined();
    expect(seen[0]!.head.rawHeaders).toEqual(['Host', 'a', 'X-Long', long, 'X-After', '1']);
    expect(seen[0]!.complete).toBe(true);
  });

  it('follows responses: 100 Continue, a HEAD answer, 204, 304 and a body read to the close', () => {
    const methods = ['POST', 'HEAD', 'GET', 'GET', 'GET'];
    const { observer, seen } = observe('response', (head, all) => {
      const finals = all.filter((s) => s.head.status! >= 200).length;
      return head.status! >= 200 && methods[finals - 1] === 'HEAD' ? 'no-body' : 'body';
    });
    const bytes = Buffer.from([
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n', // HEAD: no body follows
      'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 9000\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
    ].join(''));
    expect(observer.feed(bytes)).toBeUndefined();
    expect(seen.at(-1)!.complete).toBe(false);
    expect(observer.end()).toBeUndefined();
    expect(seen.map((s) => [s.head.status, s.body.toString(), s.complete])).toEqual([
      [100, '', true], [200, 'ok', true], [200, '', true], [204, '', true], [304, '', true], [200, 'until the end', true],
    ]);
    expect(seen[1]!.head.statusText).toBe('OK');
  });

  it('reports a stream that ends inside a sliced body', () => {
    const { observer, seen } = observe('response');
    expect(observer.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 8000\r\n\r\npartial'))).toBeUndefined();
    expect(observer.end()).toBeInstanceOf(Error);
    expect(seen[0]!.complete).toBe(false);
  });

  it('returns parse errors instead of throwing, and a throwing callback as an error', () => {
    const garbage = observe('request');
    const err = garbage.observer.feed(Buffer.from('GARBAGE / NOTHTTP\r\n\r\n'));
    expect(err).toBeInstanceOf(Error);
    expect((err as NodeJS.ErrnoException).code).toBe('HPE_INVALID_METHOD');
    const smuggled = observe('request');
    expect(smuggled.observer.feed(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'))).toBeInstanceOf(Error);
    const throwing = new HttpObserver('request', { begin: () => {}, head: () => { throw new Error('bug'); }, body: () => {}, complete: () => {} });
    expect(throwing.feed(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBeInstanceOf(Error);
  });

  it('stops at a protocol switch, and after close ignores everything, even when closed from a callback', () => {
    const upgrade = observe('request', (head) => (head.upgrade ? 'switch' : 'body'));
    const frames = Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(upgrade.observer.feed(Buffer.concat([Buffer.from('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'), frames]))).toBeUndefined();
    expect(upgrade.observer.stopped).toBe(true);
    expect(upgrade.observer.feed(Buffer.from('GET /not-http-any-more HTTP/1.1\r\n\r\n'))).toBeUndefined();
    expect(upgrade.seen).toHaveLength(1);

    const seen: string[] = [];
    const closing: HttpObserver = new HttpObserver('request', {
      begin: () => {},
      head: (head) => { seen.push(head.url!); closing.close(); return 'body'; },
      body: () => {},
      complete: () => { seen.push('complete'); },
    });
    expect(closing.feed(Buffer.from('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'))).toBeUndefined();
    expect(closing.feed(Buffer.from('GET /c HTTP/1.1\r\n\r\n'))).toBeUndefined();
    expect(seen).toEqual(['/a']);
  });
});
