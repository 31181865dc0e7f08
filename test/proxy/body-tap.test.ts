/** BodyTap's snapshot: contiguous bytes built on first read, sealed against later chunks. */
import { describe, expect, it } from 'vitest';
import { BodyTap } from '../../src/capture/body-tap.js';

describe('BodyTap.snapshot', () => {
  it('joins the parts on first read, returns the same Buffer after, and ignores chunks after the snapshot', () => {
    const tap = new BodyTap(10);
    tap.push(Buffer.from('hello '));
    tap.push(Buffer.from('world!'));
    const body = tap.snapshot();
    tap.push(Buffer.from('late'));
    expect(body.size).toBe(12);
    expect(body.truncated).toBe(true);
    expect(body.bytes.toString()).toBe('hello worl');
    expect(body.bytes).toBe(body.bytes);
    // Copied field by field (the way consumers copy bodies), it is a plain CapturedBody.
    const copy = { bytes: body.bytes, size: body.size, truncated: body.truncated };
    expect(Buffer.from(structuredClone(copy).bytes).toString()).toBe('hello worl');
  });

  it('gives an empty Buffer for an empty body', () => {
    const body = new BodyTap().snapshot();
    expect([body.bytes, body.size, body.truncated]).toEqual([Buffer.alloc(0), 0, false]);
  });

  it('keeps a copy of small pieces (not the socket buffer itself), large pieces as they are', () => {
    const tap = new BodyTap();
    const small = Buffer.from('code=abc');
    const large = Buffer.alloc(64 * 1024, 'x');
    tap.push(small);
    tap.push(large);
    small.fill('!');
    const body = tap.snapshot();
    expect(body.bytes.subarray(0, 8).toString()).toBe('code=abc');
    expect(body.size).toBe(8 + large.length);
  });
});
