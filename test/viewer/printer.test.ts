import { describe, expect, it } from 'vitest';
import type { WireSummary } from '../../src/server/index.js';
import { WatchPrinter } from '../../src/viewer/terminal/printer.js';

function summary(id: string, codes: string[] = [], status = 200): WireSummary {
  return {
    id, seq: Number(id.replace(/\D/g, '')) || 1, kind: 'token', method: 'POST', url: `https://idp.example.com/t/${id}`, host: 'idp.example.com', path: `/t/${id}`,
    startedAt: Date.now(), durationMs: 5, status,
    findings: codes.map((code) => ({ code, severity: 'error' as const, title: `title of ${code}`, detail: '', confidence: 'high' as const, primary: true })),
  };
}

function printer(options: { json?: boolean; findingsOnly?: boolean; backlog?: number } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const p = new WatchPrinter({ json: Boolean(options.json), findingsOnly: Boolean(options.findingsOnly), backlog: options.backlog,
    style: { color: false, columns: 120 }, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { p, out, err };
}

describe('watch printer', () => {
  it('prints an exchange once, and on update only the new findings marked ↻', () => {
    const { p, out } = printer();
    p.handle({ type: 'exchange', change: 'added', exchange: { summary: summary('e1', ['a.one']) } as never });
    p.handle({ type: 'exchange', change: 'updated', exchange: { summary: summary('e1', ['a.one']) } as never });
    p.handle({ type: 'exchange', change: 'updated', exchange: { summary: summary('e1', ['a.one', 'b.two']) } as never });
    expect(out).toHaveLength(2);
    expect(out[1]).toContain('↻');
    expect(out[1]).toContain('b.two');
    expect(out[1]).not.toContain('a.one');
  });

  it('after a reconnect prints only what it missed; the first snapshot is trimmed to the backlog', () => {
    const { p, out, err } = printer({ backlog: 2 });
    p.handle({ type: 'snapshot', exchanges: [summary('e1'), summary('e2'), summary('e3')], total: 3, alerts: [] });
    expect(out.join('')).not.toContain('/t/e1');
    expect(out.join('')).toContain('/t/e3');
    expect(err.join('')).toContain('1 earlier exchanges not shown');
    out.length = 0;
    p.handle({ type: 'snapshot', exchanges: [summary('e1'), summary('e2'), summary('e3'), summary('e4')], total: 4, alerts: [] });
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('/t/e4');
  });

  it('--json writes one parseable summary per line, and --findings-only filters', () => {
    const { p, out } = printer({ json: true, findingsOnly: true });
    p.handle({ type: 'snapshot', exchanges: [summary('e1'), summary('e2', ['x.y'], 400)], total: 2, alerts: [] });
    p.handle({ type: 'alert', alert: { code: 'oauth.failure_rate', message: 'm', at: 1 } });
    const lines = out.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.id ?? l.type)).toEqual(['e2', 'alert']);
  });
});
