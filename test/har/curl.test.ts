import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { exchangeToCurl } from '../../src/har/curl.js';
import { hasMarker } from '../../src/har/markers.js';
import type { Exchange, Redacted } from '../../src/model.js';
import { FP, makeExchange, marker, tokenExchange } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'lens-curl-'));
const canary = join(work, 'pwned');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the command under bash with `curl` replaced by a function printing its argv, NUL-separated. */
function argvOf(command: string, env: Record<string, string> = {}): string[] {
  const script = `curl() { printf '%s\\0' "$@"; }\n${command}`;
  // The script goes on stdin: a batch of commands is larger than one argv string may be.
  const result = spawnSync('bash', ['-s'], { input: script, cwd: work, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  if (result.status !== 0) throw new Error(`bash failed (${result.status}): ${result.error?.message ?? ''} ${result.stderr?.toString() ?? ''}`);
  const out = result.stdout.toString('utf8');
  return out.split('\0').slice(0, -1);
}

function withRequest(request: Partial<Exchange['request']>): Redacted<Exchange> {
  const base = makeExchange();
  return makeExchange({ request: { ...base.request, ...request } });
}

describe('exchangeToCurl', () => {
  it('reproduces a token request with placeholders for every redacted secret', () => {
    const command = exchangeToCurl(tokenExchange());
    expect(command).toMatch(/^# oauth-lens: replay of exchange ex-2\n/);
    for (const name of ['AUTH_CODE', 'CODE_VERIFIER', 'CLIENT_SECRET']) expect(command).toContain(`#   export ${name}=`);
    expect(command).toContain(`-u 'backend-app:'"$CLIENT_SECRET"`);
    expect(command).toContain(`--data-urlencode 'code='"$AUTH_CODE"`);
    expect(command).toContain(`--data-urlencode 'code_verifier='"$CODE_VERIFIER"`);
    expect(command).toContain(`--data-urlencode 'redirect_uri=https://app.example.test/callback/'`);
    expect(command).not.toMatch(/Content-Length|Connection|\[REDACTED|Host:/);
    expect(command).not.toContain(FP.code);

    const argv = argvOf(command, { AUTH_CODE: 'the-code', CODE_VERIFIER: 'v'.repeat(43), CLIENT_SECRET: 's3cr3t' });
    expect(argv).toEqual([
      'https://idp.example.test/oauth/token',
      '--globoff',
      '-H', 'Content-Type: application/x-www-form-urlencoded',
      '-u', 'backend-app:s3cr3t',
      '-H', 'Accept: application/json',
      '--data-urlencode', 'grant_type=authorization_code',
      '--data-urlencode', 'code=the-code',
      '--data-urlencode', 'redirect_uri=https://app.example.test/callback/',
      '--data-urlencode', `code_verifier=${'v'.repeat(43)}`,
    ]);
  });

  it('uses $CLIENT_ID when the Basic username is not shown, and Bearer tokens as $ACCESS_TOKEN', () => {
    const command = exchangeToCurl(withRequest({
      method: 'DELETE',
      url: 'https://api.example.test/items/1',
      headers: [
        ['Authorization', `Bearer ${marker('authorization', 30, FP.access)}`],
        ['Cookie', `sid=${marker('cookie:sid', 32, 'abcabcabcabc')}; theme=dark`],
        ['Accept-Encoding', 'gzip, br'],
      ],
    }));
    const argv = argvOf(command, { ACCESS_TOKEN: 'tok', COOKIE_SID: 'sess' });
    expect(argv).toEqual(['https://api.example.test/items/1', '--globoff', '-X', 'DELETE', '-H', 'Authorization: Bearer tok', '-H', 'Cookie: sid=sess; theme=dark', '--compressed']);
    const hidden = exchangeToCurl(withRequest({ headers: [['Authorization', `Basic [${marker('basic_user', 8, 'aaaaaaaaaaaa')}]:${marker('client_secret', 9, 'bbbbbbbbbbbb')}`]] }));
    expect(argvOf(hidden, { CLIENT_ID: 'id', CLIENT_SECRET: 'pw' })).toContain('id:pw');
    // An older display with spaces and a shape suffix is read the same way.
    const spaced = exchangeToCurl(withRequest({ headers: [['Authorization', `Basic [client_id=app] : ${marker('secret', 9, 'bbbbbbbbbbbb', 'alnum')}`]] }));
    expect(argvOf(spaced, { CLIENT_SECRET: 'pw' })).toContain('app:pw');
  });

  it('gives distinct values distinct variables and the same value the same variable', () => {
    const one = marker('code', 10, '111111111111');
    const two = marker('code', 10, '222222222222');
    const command = exchangeToCurl(withRequest({
      method: 'POST',
      headers: [['Content-Type', 'application/json'], ['X-Code', one]],
      body: { size: 40, truncated: false, text: JSON.stringify({ a: one, b: two }) },
    }));
    expect(command).toContain('export AUTH_CODE=');
    expect(command).toContain('export AUTH_CODE_2=');
    const argv = argvOf(command, { AUTH_CODE: 'A', AUTH_CODE_2: 'B' });
    expect(argv).toEqual(['https://idp.example.test/.well-known/openid-configuration', '--globoff', '-H', 'Content-Type: application/json', '-H', 'X-Code: A', '--data-raw', '{"a":"A","b":"B"}']);
  });

  it('turns percent-encoded markers in the URL into placeholders', () => {
    const url = `https://idp.example.test/me?access_token=${encodeURIComponent(marker('access_token', 20, FP.access))}&x=1`;
    const command = exchangeToCurl(withRequest({ url }));
    expect(command).toContain('(URL-encoded)');
    expect(argvOf(command, { ACCESS_TOKEN: 'abc' })[0]).toBe('https://idp.example.test/me?access_token=abc&x=1');
  });

  it('removes curl\'s own Content-Type when the original body had none, and notes binary bodies', () => {
    const untyped = exchangeToCurl(withRequest({ method: 'POST', headers: [], body: { size: 3, truncated: false, text: 'a=b' } }));
    expect(argvOf(untyped)).toEqual(['https://idp.example.test/.well-known/openid-configuration', '--globoff', '-H', 'Content-Type:', '--data-raw', 'a=b']);
    const binary = exchangeToCurl(withRequest({ method: 'PUT', headers: [], body: { size: 100, truncated: true } }));
    expect(binary).toContain('# note: the 100-byte binary request body was not kept');
    expect(binary).toContain('# note: the request body was truncated');
    expect(argvOf(binary)).toEqual(['https://idp.example.test/.well-known/openid-configuration', '--globoff', '-X', 'PUT']);
  });

  it('turns marker-shaped hostile text into a safely named placeholder', () => {
    const command = exchangeToCurl(withRequest({ headers: [['X-A', '[REDACTED $(touch_pwned)`id` len=3 fp=abcabcabcabc]'], ['X-B', '[REDACTED PATH]']] }));
    expect(command).toMatch(/export TOUCH_PWNED_ID=/);
    expect(command).toMatch(/export OAUTH_PATH=/);
    expect(argvOf(command, { TOUCH_PWNED_ID: 'v1', OAUTH_PATH: 'v2' }).slice(1)).toEqual(['--globoff', '-H', 'X-A: v1', '-H', 'X-B: v2']);
    expect(existsSync(canary)).toBe(false);
  });

  it('sends empty headers as empty (not as curl\'s "remove this header"), and never reads the URL as an option', () => {
    const argv = argvOf(exchangeToCurl(withRequest({ url: '-o/tmp/x', headers: [['X-Empty', '']] })));
    expect(argv).toEqual(['--url', '-o/tmp/x', '--globoff', '-H', 'X-Empty;']);
  });

  it('refuses a NUL byte, which no shell argument can carry', () => {
    expect(() => exchangeToCurl(withRequest({ headers: [['X', 'a\0b']] }))).toThrow(expect.objectContaining({ code: 'OAL_ERR_CURL_UNREPRESENTABLE' }));
  });

  const hostile = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("'", '"', '$(touch pwned)', '`touch pwned`', '\n', '\r\n', ';', '&&', '||', '|', '\\', '$HOME', '${IFS}', "'\\''", '!', '!!', '#', '*', '~', '<(touch pwned)', '>pwned', '%', '=', '@pwned', ' ', '\t', '[REDACTED x', ']') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  );
  const hostileText = fc.array(hostile, { maxLength: 8 }).map((parts) => parts.join(''))
    // Marker-shaped text becomes a placeholder by design (tested separately); everything else must stay literal.
    .filter((s) => !s.includes('\0') && s.isWellFormed() && !hasMarker(s));

  /** Many commands in one bash process (spawning one per case would take ~0.1 s each). */
  function argvsOf(commands: string[], env: Record<string, string>[]): string[][] {
    const end = `--end-of-case-${process.pid}-${Date.now()}--`;
    const script = commands.map((command, i) => {
      const assignments = Object.entries(env[i] ?? {}).map(([k, v]) => `${k}=${`'${v.replace(/'/g, `'\\''`)}'`}`).join(' ');
      return `${assignments ? `export ${assignments}\n` : ''}${command}printf '%s\\0' '${end}'\n`;
    }).join('');
    const argv = argvOf(script);
    const cases: string[][] = [[]];
    for (const arg of argv) {
      if (arg === end) cases.push([]);
      else cases.at(-1)!.push(arg);
    }
    cases.pop();
    expect(cases).toHaveLength(commands.length);
    return cases;
  }

  it('passes hostile header, URL, form and body values to the shell literally (property)', () => {
    const samples = fc.sample(fc.tuple(hostileText, hostileText, hostileText, hostileText, hostileText), { numRuns: 300, seed: 42 });
    const exchanges = samples.map(([headerValue, formName, formValue, path, _secret]) => {
      const form: Array<[string, string]> = [[formName || 'n', formValue], ['code', marker('code', 5, FP.code)]];
      return withRequest({
        method: 'POST',
        url: `https://idp.example.test/${path}`,
        headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['X-Evil', headerValue], [`X-${formName}`, path]],
        body: { size: 10, truncated: false, text: 'ignored', form },
      });
    });
    const argvs = argvsOf(exchanges.map(exchangeToCurl), samples.map((s) => ({ AUTH_CODE: s[4] })));
    samples.forEach(([headerValue, formName, formValue, path, secret], i) => {
      const argv = argvs[i]!;
      expect(argv[0]).toBe(`https://idp.example.test/${path}`);
      expect(argv).toContain(headerValue ? `X-Evil: ${headerValue}` : 'X-Evil;');
      expect(argv).toContain(path ? `X-${formName}: ${path}` : `X-${formName};`);
      expect(argv).toContain(`${encodeURIComponent(formName || 'n')}=${formValue}`);
      expect(argv).toContain(`code=${secret}`);
    });
    expect(existsSync(canary)).toBe(false);
  });

  it('passes hostile raw bodies and methods literally (property)', () => {
    const samples = fc.sample(fc.tuple(hostileText, fc.constantFrom('PATCH', 'PUT', 'POST', "X'; touch pwned; '")), { numRuns: 300, seed: 7 });
    const commands = samples.map(([body, method]) =>
      exchangeToCurl(withRequest({ method, headers: [['Content-Type', 'text/plain']], body: { size: body.length, truncated: false, text: body } })),
    );
    const argvs = argvsOf(commands, []);
    samples.forEach(([body, method], i) => {
      const argv = argvs[i]!;
      if (body) expect(argv.at(-1)).toBe(body);
      if (method !== 'POST' || !body) expect(argv).toContain(method);
    });
    expect(existsSync(canary)).toBe(false);
  });
});
