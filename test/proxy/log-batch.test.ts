/** The batched stdout destination: lines arrive whole, in order, in one write per batch, never lost on flush. */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { BatchedDestination } from '../../src/log-batch.js';

describe('BatchedDestination', () => {
  it('writes the lines of one burst with one write, in order, within the delay', async () => {
    const writes: string[] = [];
    const dest = new BatchedDestination({ write: (t: string) => writes.push(t) }, { maxDelayMs: 10 });
    const logger = pino({ base: undefined }, dest);
    for (let i = 0; i < 50; i++) logger.info({ i }, 'line');
    expect(writes).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(writes).toHaveLength(1);
    const lines = writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('writes at once when the batch is full, and flushSync empties it', () => {
    const writes: string[] = [];
    const dest = new BatchedDestination({ write: (t: string) => writes.push(t) }, { maxDelayMs: 10_000, maxChars: 100 });
    dest.write('a'.repeat(60) + '\n');
    expect(writes).toHaveLength(0);
    dest.write('b'.repeat(60) + '\n');
    expect(writes).toEqual([`${'a'.repeat(60)}\n${'b'.repeat(60)}\n`]);
    dest.write('c\n');
    dest.flushSync();
    expect(writes[1]).toBe('c\n');
    dest.flushSync(); // nothing waiting: no empty write
    expect(writes).toHaveLength(2);
  });

  it('flushes on process exit through the hook it installs', () => {
    const writes: string[] = [];
    const dest = new BatchedDestination({ write: (t: string) => writes.push(t) }, { maxDelayMs: 10_000 });
    const undo = dest.flushOnExit();
    dest.write('last words\n');
    process.emit('exit', 0);
    undo();
    expect(writes).toEqual(['last words\n']);
  });
});
