/** The Node preload on its own: NO_PROXY rules, lazy undici, a program's own dispatcher wins, no proxy = no change. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { assertBuilt, cleanEnv, ROOT } from './helpers.js';

// The .cts sources are CommonJS for the preload; vitest does not transform .cts, so use the built copy.
const { matchesNoProxy, parseNoProxy } = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'run', 'no-proxy.cjs')) as
  typeof import('../../src/run/no-proxy.cjs');

const PRELOAD = path.join(ROOT, 'dist', 'run', 'preload.cjs');

function nodeWithPreload(script: string, extra: Record<string, string> = {}): string {
  assertBuilt();
  return execFileSync(process.execPath, ['-e', script], {
    env: cleanEnv({ NODE_OPTIONS: `--require ${PRELOAD}`, HTTPS_PROXY: 'http://127.0.0.1:9', ...extra }),
    encoding: 'utf8',
  }).trim();
}

describe('NO_PROXY matching (same rules as undici EnvHttpProxyAgent)', () => {
  const entries = parseNoProxy('internal.example, .corp.example *.svc.local,10.0.0.1:8443,[::1]');
  it.each([
    ['internal.example', 443, true],
    ['api.internal.example', 443, true],
    ['corp.example', 443, true],
    ['a.b.corp.example', 80, true],
    ['x.svc.local', 443, true],
    ['10.0.0.1', 8443, true],
    ['10.0.0.1', 443, false],
    ['[::1]', 443, true],
    ['notinternal.example', 443, false],
    ['idp.example', 443, false],
  ] as const)('%s:%d → bypass %s', (host, port, bypass) => {
    expect(matchesNoProxy(entries, host, port)).toBe(bypass);
  });
  it('treats * as "bypass everything" and an empty value as "bypass nothing"', () => {
    expect(matchesNoProxy(parseNoProxy('*'), 'anything', 1)).toBe(true);
    expect(matchesNoProxy(parseNoProxy(''), 'localhost', 1)).toBe(false);
  });
});

describe('preload', () => {
  it('loads undici only when fetch is first used (programs that never fetch start fast)', () => {
    const out = nodeWithPreload(`
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('node_modules/undici/'));
      const before = loaded();
      fetch('http://127.0.0.1:45999/').catch(() => {}).finally(() => console.log(JSON.stringify({ before, after: loaded() })));
    `);
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });

  it('replaces the global agents and dispatcher only when a proxy is set', () => {
    const probe = `const https = require('https'); const d = globalThis[Symbol.for('undici.globalDispatcher.1')];
      console.log(JSON.stringify({ agent: https.globalAgent.constructor.name, dispatcher: d ? d.constructor.name : null }));`;
    expect(JSON.parse(nodeWithPreload(probe))).toEqual({ agent: 'TunnelingHttpsAgent', dispatcher: 'EnvHttpProxyAgent' });
    expect(JSON.parse(nodeWithPreload(probe, { HTTPS_PROXY: '' }))).toEqual({ agent: 'Agent', dispatcher: null });
  });

  it('lets a program install its own global dispatcher', () => {
    const out = nodeWithPreload(`
      const undici = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'undici'))});
      const mine = new undici.Agent();
      undici.setGlobalDispatcher(mine);
      console.log(globalThis[Symbol.for('undici.globalDispatcher.1')] === mine);
    `);
    expect(out).toBe('true');
  });
});
