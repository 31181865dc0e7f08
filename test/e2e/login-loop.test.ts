/**
 * End to end, the login-loop branch of retry.storm, in a world of its own (the rule looks back 60 s
 * over every authorize request of the client, so other scenarios' logins must not count).
 * A real loop — the app keeps restarting the login and never redeems a code — is a storm; a quick
 * series of logins that all completed is not.
 */
import { describe, expect, it } from 'vitest';
import { curl, login } from './support/clients.js';
import { basicAuth, codes, describe as list, expectNoSecretLeak, finding, type StoredExchange, type World } from './support/world.js';
import { isAuthorize, useWorld } from './support/use-world.js';

let world: World;
useWorld((started) => {
  world = started;
});

function debug(exchanges: StoredExchange[]): void {
  if (process.env.E2E_DEBUG) console.log(list(exchanges));
}

describe('login loops through the proxy', () => {
  // Regression test: loginLoop (src/oauth/rules/responses-retries.ts) used to count every authorize of the
  // client from the same address in the window, including logins that completed (code redeemed with 200).
  it('five completed logins in a row are not a login loop (retry.storm)', async () => {
    const conf = world.idp.clients.confidential;
    const mark = world.mark();
    for (let i = 0; i < 5; i++) {
      const done = await login(world, { state: `e2e-loop-free-${i}-abcdef` });
      const answer = await curl(world, [
        '-H', `Authorization: Basic ${basicAuth(conf.clientId, conf.clientSecret ?? '')}`,
        '-d', `grant_type=authorization_code&redirect_uri=${encodeURIComponent(done.redirectUri)}`,
        '--data-urlencode', `code=${done.code}`, '--data-urlencode', `code_verifier=${done.verifier}`, world.idp.endpoints.token,
      ]);
      expect(answer.status).toBe(200);
    }
    const authorizes = (await world.since(mark, 5, isAuthorize)).map((a) => world.current(a.id));
    debug(authorizes);
    for (const a of authorizes) expect(finding(a, 'retry.storm'), codes(a).join(' ')).toBeUndefined();
  });

  it('an app that restarts the login five times without redeeming a code: retry.storm (login loop)', async () => {
    const mark = world.mark();
    for (let i = 0; i < 5; i++) await login(world, { state: `e2e-loop-${i}-abcdef` });
    const authorizes = (await world.since(mark, 5, isAuthorize)).map((a) => world.current(a.id));
    debug(authorizes);
    const storm = finding(authorizes.at(-1)!, 'retry.storm');
    expect(storm?.severity, codes(authorizes.at(-1)!).join(' ')).toBe('error');
    expect(storm?.evidence).toMatchObject({ pattern: 'login_loop' });
    expectNoSecretLeak(world);
  });
});
