/**
 * End to end, what the authorization server (or the way to it) does wrong: a 500 HTML page, 429
 * with Retry-After and a client that retries at once, an upstream certificate the lens does not
 * trust, a gzip-compressed token response, and a 200 carrying {"ok":false}. Real clients (curl,
 * Python requests, openid-client) through the real proxy; no secret may reach the store or log.
 */
import { describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { curl, openidClient, python } from './support/clients.js';
import {
  basicAuth, codes, describe as list, expectNoSecretLeak, finding, primary, type StoredExchange, type World,
} from './support/world.js';
import { isToken, useWorld } from './support/use-world.js';

let world: World;
useWorld((started) => {
  world = started;
});

function debug(exchanges: StoredExchange[]): void {
  if (process.env.E2E_DEBUG) console.log(list(exchanges), '\n', exchanges.map((e) => e.oauth.findings.map((f) => `${f.code}: ${f.title}`).join('\n')).join('\n'));
}

describe('provider and transport faults through the proxy', () => {
  it('a 500 HTML page from the token endpoint (openid-client): provider.unavailable, response.non_json contributing', async () => {
    const m = world.idp.clients.machine;
    const client = await openidClient(world, m.clientId, m.clientSecret ?? '');
    const mark = world.mark();
    world.idp.failNext({ status: 500 });
    try {
      const failure = await oidc.clientCredentialsGrant(client.config, { scope: 'api:read' }).then(() => undefined, (err: unknown) => err);
      expect(failure).toBeInstanceOf(Error);
    } finally {
      await client.close();
    }
    const [exchange] = await world.since(mark, 1, isToken);
    debug([exchange!]);
    expect(exchange!.response?.status).toBe(500);
    expect(primary(exchange!)?.code, codes(exchange!).join(' ')).toBe('provider.unavailable');
    expect(primary(exchange!)?.severity).toBe('error');
    const nonJson = finding(exchange!, 'response.non_json');
    expect(nonJson?.primary).toBe(false);
    expect(nonJson?.evidence).toMatchObject({ body_kind: 'html' });
    // openid-client form-encodes Basic credentials correctly (the secret's "-" as %2D); a crashed AS
    // did not reject them, so nothing may blame the client authentication.
    expect(exchange!.oauth.findings.filter((f) => f.code.startsWith('client')), codes(exchange!).join(' ')).toEqual([]);
    expectNoSecretLeak(world);
  });

  it('429 with Retry-After, then five immediate retries (Python requests): rate_limit.throttled and retry.storm', async () => {
    const m = world.idp.clients.machine;
    const mark = world.mark();
    world.idp.failNext({ status: 429, retryAfterSeconds: 30, count: 6 });
    const answers = await python(world, {
      url: world.idp.endpoints.token, auth: [m.clientId, m.clientSecret ?? ''],
      // No scope: a different request from the 500 scenario's, so only these six count as one storm.
      data: [['grant_type', 'client_credentials']], repeat: 6,
    });
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429, 429, 429, 429]);
    expect(answers[0]!.headers['retry-after']).toBe('30');
    const attempts = (await world.since(mark, 6, isToken)).map((e) => world.current(e.id));
    debug(attempts);
    const first = attempts[0]!;
    const last = attempts.at(-1)!;
    // The first answer is the throttling itself; the next request came long before Retry-After allowed.
    expect(primary(first)?.code, codes(first).join(' ')).toBe('rate_limit.throttled');
    expect(JSON.stringify(finding(attempts[1]!, 'rate_limit.throttled')?.evidence)).toContain('retry_after_ignored');
    const storm = finding(last, 'retry.storm');
    expect(storm?.severity, codes(last).join(' ')).toBe('error');
    expect(storm?.evidence).toMatchObject({ attempts: 6 });
    expect(storm?.exchangeIds).toEqual(attempts.map((e) => e.id));
    expectNoSecretLeak(world);
  });

  it('an upstream certificate the lens does not trust (curl): 502 and tls.upstream_handshake_failed', async () => {
    const mark = world.mark();
    const secret = 'untrusted-host-secret-5d0e7a';
    world.remember(secret, basicAuth('other-client', secret));
    const answer = await curl(world, [
      '-H', `Authorization: Basic ${basicAuth('other-client', secret)}`, '-d', 'grant_type=client_credentials', world.side.untrustedTokenUrl,
    ]);
    expect(answer.status).toBe(502);
    expect(world.side.untrustedHits).toBe(0);
    const [exchange] = await world.since(mark, 1);
    debug([exchange!]);
    // The stored exchange carries the transport error, not a response the AS never gave.
    expect(exchange!.error?.code).toBe('tls_untrusted');
    expect(exchange!.response).toBeUndefined();
    expect(primary(exchange!)?.code, codes(exchange!).join(' ')).toBe('tls.upstream_handshake_failed');
    expect(primary(exchange!)?.severity).toBe('error');
    expectNoSecretLeak(world);
  });

  it('a gzip token response (Python requests): decoded, parsed, and no finding', async () => {
    const mark = world.mark();
    const [answer] = await python(world, {
      url: world.side.tokenUrl, auth: [world.side.clientId, world.side.clientSecret], data: [['grant_type', 'client_credentials'], ['scope', 'reports']],
    });
    expect(answer!.status).toBe(200);
    expect(answer!.headers['content-encoding']).toBe('gzip');
    const [exchange] = await world.since(mark, 1, isToken);
    debug([exchange!]);
    expect(exchange!.response?.body.encoding).toBe('gzip');
    // The lens decoded the body: the JSON is there, with the token redacted.
    const json = exchange!.response?.body.json as Record<string, unknown>;
    expect(json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'reports' });
    expect(String(json['access_token'])).not.toBe(world.side.issued.at(-1));
    expect(exchange!.oauth.findings).toEqual([]);
    expectNoSecretLeak(world);
  });

  it('HTTP 200 carrying {"ok":false} (curl): response.error_in_2xx', async () => {
    const mark = world.mark();
    const answer = await curl(world, [
      '-d', 'grant_type=authorization_code', '-d', `client_id=${world.side.clientId}`, '--data-urlencode', `client_secret=${world.side.clientSecret}`,
      '-d', 'code=7e1f0c2a9b8d4e6f1a2b3c4d5e6f7a8b&redirect_uri=https://app.oauth-lens.test/callback', world.side.slackLikeUrl,
    ]);
    world.remember('7e1f0c2a9b8d4e6f1a2b3c4d5e6f7a8b');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ ok: false, error: 'invalid_code' });
    const [exchange] = await world.since(mark, 1, isToken);
    debug([exchange!]);
    const in2xx = primary(exchange!);
    expect(in2xx?.code, codes(exchange!).join(' ')).toBe('response.error_in_2xx');
    expect(in2xx?.severity).toBe('warning');
    expect(in2xx?.detail).toContain('"ok"');
    expectNoSecretLeak(world);
  });
});
