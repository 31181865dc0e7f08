import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultStateDir, readStateFile, removeStateFile, writeStateFile } from '../../src/server/index.js';

describe('state file', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'oal-state-')), 'nested');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips with mode 0600 in a 0700 directory', () => {
    const state = { uiUrl: 'http://127.0.0.1:8081', token: 't0ken', proxyUrl: 'http://127.0.0.1:8080', pid: 4242 };
    const path = writeStateFile(state, dir);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readStateFile(dir)).toEqual(state);
    writeStateFile({ ...state, token: 'second' }, dir);
    expect(readStateFile(dir)?.token).toBe('second');
    removeStateFile(1, dir); // not ours: kept
    expect(readStateFile(dir)).toBeDefined();
    removeStateFile(4242, dir);
    expect(readStateFile(dir)).toBeUndefined();
  });

  it('honours OAUTH_LENS_STATE_DIR and defaults to ~/.oauth-lens', () => {
    expect(defaultStateDir({ OAUTH_LENS_STATE_DIR: '/tmp/x' })).toBe('/tmp/x');
    expect(defaultStateDir({})).toMatch(/\.oauth-lens$/);
  });
});
