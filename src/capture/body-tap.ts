/**
 * A passive observer of a body stream: it adds a 'data' listener next to the library's pipe, so the bytes
 * and the framing forwarded are untouched. Keeps the first `limit` bytes and counts the full size.
 */
import type { Readable } from 'node:stream';
import type { CapturedBody } from './types.js';

/** Default per-body capture cap: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export class BodyTap {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;

  constructor(limit: number = DEFAULT_BODY_LIMIT) {
    this.limit = limit;
  }

  /** Start observing; the stream must be paused (the library pauses it before our hooks run). */
  attach(stream: Readable): this {
    stream.on('data', (chunk: Buffer | string) => this.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    return this;
  }

  push(chunk: Buffer): void {
    this.#size += chunk.length;
    const room = this.limit - this.#kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  get size(): number {
    return this.#size;
  }

  /** The captured body; decoding is done later, off the hot path. */
  snapshot(): CapturedBody {
    const bytes = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#kept);
    this.#chunks = [bytes]; // release the parts now, not when the whole recording is collected
    return { bytes, size: this.#size, truncated: this.#size > this.#kept };
  }
}
