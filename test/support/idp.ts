/**
 * The shared test IdP: a real oidc-provider over HTTPS on 127.0.0.1 (ephemeral port, throwaway CA).
 * Same code as `npm run demo` (src/demo/idp.ts). Usage:
 *
 *   const idp = await startIdp();                      // afterAll(() => idp.close())
 *   const { verifier, challenge } = pkcePair();
 *   const { code } = await idp.authorizeAndGetCode({ redirectUri: idp.clients.confidential.redirectUris[0]!, codeChallenge: challenge, state: 's1' });
 *   // POST idp.endpoints.token (form, Basic auth with clients.confidential) — trust idp.caPem, or give it to the proxy as upstream CA.
 *   idp.failNext({ status: 500 });                      // next /token answers an HTML 500 page
 *   idp.failNext({ status: 429, retryAfterSeconds: 3 }); // next /token answers 429 + Retry-After: 3
 */
export { startIdp, DEMO_ACCOUNT_ID } from '../../src/demo/idp.js';
export type { StartedIdp, IdpOptions, IdpClient, IdpClients, FaultOptions } from '../../src/demo/idp.js';
export { authorizeAndGetCode, pkcePair, AuthorizeError } from '../../src/demo/idp-authorize.js';
export type { AuthorizeOptions, AuthorizeResult } from '../../src/demo/idp-authorize.js';
export { issueServerTls } from '../../src/demo/test-ca.js';
export type { ServerTls } from '../../src/demo/test-ca.js';
