import { describe, expect, it } from 'vitest';
import { StandIns } from '../../src/har/stand-ins.js';

const m = (name: string, len: number, fp: string) => `[REDACTED ${name} len=${len} fp=${fp}]`;

describe('StandIns', () => {
  it('gives equal markers equal, well-formed stand-ins of the stated length', () => {
    const s = new StandIns();
    const a = s.text(`code=${m('code', 43, 'aaaaaaaaaaaa')}&x=1`);
    const b = s.text(`{"code":"${m('code', 43, 'aaaaaaaaaaaa')}"}`);
    const c = s.text(m('code', 43, 'bbbbbbbbbbbb'));
    const va = /code=([^&]+)/.exec(a)![1]!;
    expect(va).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b).toBe(`{"code":"${va}"}`);
    expect(c).not.toBe(va);
    expect(s.count).toBe(3);
    // Percent-encoded markers in URLs (as exports write them) too.
    expect(s.text(`https://i/cb?code=${encodeURIComponent(m('code', 43, 'aaaaaaaaaaaa')).replace(/%3D/g, '=')}`)).toBe(`https://i/cb?code=${va}`);
  });

  it('rebuilds Basic credentials in display form into valid base64', () => {
    const s = new StandIns();
    const header = s.header('Authorization', `Basic [client_id=demo-app]:${m('client_secret', 32, 'cccccccccccc')}`);
    const decoded = Buffer.from(header.slice(6), 'base64').toString();
    expect(decoded).toMatch(/^demo-app:[A-Za-z0-9_-]{32}$/);
    const hidden = Buffer.from(s.header('authorization', `Basic [${m('basic_user', 9, 'dddddddddddd')}]:${m('client_secret', 32, 'cccccccccccc')}`).slice(6), 'base64').toString();
    expect(hidden.split(':')[1]).toBe(decoded.split(':')[1]);
    expect(hidden.split(':')[0]).toMatch(/^[A-Za-z0-9_-]{9}$/);
  });

  it('leaves text without markers untouched', () => {
    const s = new StandIns();
    expect(s.text('REDACTED is a word; [REDACTED] too')).toBe('REDACTED is a word; [REDACTED] too');
    expect(s.header('Authorization', 'Bearer abc')).toBe('Bearer abc');
    expect(s.count).toBe(0);
  });
});
