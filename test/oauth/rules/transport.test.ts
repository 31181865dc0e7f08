/** §1.15 TLS, intermediaries, capture gaps (R66–R69). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startTestLens, type TestLens } from '../../proxy/support/lens.js';
import { createTestCa, startHttpsUpstream, type Upstream } from '../../proxy/support/upstream.js';
import {
  APP, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, TOKEN_URL, authorizeRedirect, authorizeRequest, callbackRequest, encodeForm, exchange, oauthError,
  runRules, tokenRequest,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';
import { clientTlsFailureCapture } from '../../../src/capture/client-tls-failure.js';

const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code-0123456789';
const STATE = 'af0ifjsldkj-state-value-1';
const SECRETS = [CLIENT_SECRET, CODE];
const ccForm = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
const codeForm = { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET };

describe('tls.upstream_handshake_failed (R66)', () => {
  it('flags an untrusted upstream certificate (corporate TLS inspection) with the chain facts', () => {
    const r = runRules([tokenRequest({
      form: ccForm, response: null,
      error: { code: 'tls_untrusted', message: 'upstream idp.example.com:443 presented a certificate from an untrusted CA (trust it with --upstream-ca)', nodeCode: 'SELF_SIGNED_CERT_IN_CHAIN' },
      tls: { sni: 'idp.example.com', peerCertificate: { subject: 'CN=idp.example.com', issuer: 'CN=Corp Inspection CA', validFrom: 'Jan  1 00:00:00 2026 GMT', validTo: 'Jan  1 00:00:00 2027 GMT', fingerprint256: 'AB:CD:EF' } },
    })]);
    const f = only(r, 0, 'tls.upstream_handshake_failed');
    expect(f.severity).toBe('error');
    expect(f.primary).toBe(true);
    expect(f.detail).toMatch(/--upstream-ca/);
    expect(f.evidence).toMatchObject({ sni: 'idp.example.com', certificate: { issuer: 'CN=Corp Inspection CA' } });
    expectNoSecrets(r, SECRETS);
  });

  it('flags Entra AADSTS1002016 (TLS below 1.2)', () => {
    const r = runRules([tokenRequest({
      url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token', form: ccForm,
      response: oauthError('invalid_request', 'AADSTS1002016: You are using TLS version 1.0, 1.1 and/or 3DES cipher which are deprecated to improve the security posture of Azure AD.', 400, { error_codes: [1002016] }),
    })]);
    expect(only(r, 0, 'tls.upstream_handshake_failed').title).toMatch(/TLS version below 1\.2/);
  });

  it('names a certificate issued for another host (wrong tenant/region)', () => {
    const r = runRules([tokenRequest({ form: ccForm, response: null, error: { code: 'tls_hostname', message: 'upstream idp.example.com:443 presented a certificate for another name', nodeCode: 'ERR_TLS_CERT_ALTNAME_INVALID' } })]);
    const f = only(r, 0, 'tls.upstream_handshake_failed');
    expect(f.detail).toMatch(/wrong tenant, region or environment host/);
  });

  it('near miss: a refused connection is an availability problem, not TLS', () => {
    const r = runRules([tokenRequest({ form: ccForm, response: null, error: { code: 'refused', message: 'upstream idp.example.com:443 refused the connection', nodeCode: 'ECONNREFUSED' } })]);
    none(r, 0, 'tls.upstream_handshake_failed');
    only(r, 0, 'provider.unavailable');
  });
});

describe('tls.client_rejected_lens_ca (R67)', () => {
  it('flags a client that sent the unknown_ca alert (curl, Python requests), recorded from the proxy callback', () => {
    const r = runRules([clientTlsFailureCapture('tls-fail-1', 'idp.example.com:443', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', T(1), '127.0.0.1')]);
    const f = only(r, 0, 'tls.client_rejected_lens_ca');
    expect(f.severity).toBe('warning');
    expect(f.confidence).toBe('high');
    expect(f.title).toBe('Client refused the oauth-lens certificate for idp.example.com');
    expect(f.detail).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(f.detail).toMatch(/REQUESTS_CA_BUNDLE/);
  });

  it('flags a Node client hanging up during the handshake, with medium confidence', () => {
    const r = runRules([clientTlsFailureCapture('tls-fail-2', 'idp.example.com:443', 'ECONNRESET', T(1))]);
    expect(only(r, 0, 'tls.client_rejected_lens_ca').confidence).toBe('medium');
  });

  it('near miss: a CONNECT refused because it targets oauth-lens itself', () => {
    const r = runRules([exchange({ method: 'CONNECT', url: 'https://idp.example.com:443', response: null, error: { code: 'proxy_loop', message: 'refused: idp.example.com:443 is oauth-lens itself' } })]);
    none(r, 0, 'tls.client_rejected_lens_ca');
  });
});

describe('proxy.interference (R68)', () => {
  it('flags a Squid block page answering instead of the AS', () => {
    const r = runRules([tokenRequest({
      form: ccForm,
      response: { status: 403, headers: { Server: 'squid/5.7', 'X-Squid-Error': 'ERR_ACCESS_DENIED 0', Via: '1.1 proxy.corp.local (squid/5.7)' }, html: '<html><head><title>ERROR: The requested URL could not be retrieved</title></head><body>Access Denied.</body></html>' },
    })]);
    const f = only(r, 0, 'proxy.interference');
    expect(f.severity).toBe('error');
    expect(f.evidence?.intermediary_headers).toMatchObject({ 'x-squid-error': 'ERR_ACCESS_DENIED 0' });
    expectNoSecrets(r, SECRETS);
  });

  it('flags a request body truncated before it reached the lens', () => {
    const body = encodeForm(ccForm);
    const r = runRules([tokenRequest({ body: body.slice(0, 40), contentType: 'application/x-www-form-urlencoded', headers: { 'Content-Length': String(body.length) }, response: oauthError('invalid_request', 'Missing client_secret') })]);
    const f = only(r, 0, 'proxy.interference');
    expect(f.evidence?.body).toEqual({ content_length: body.length, received: 40 });
  });

  it('near miss: a request whose body was not captured at all (HAR without postData)', () => {
    const r = runRules([tokenRequest({ body: '', contentType: 'application/x-www-form-urlencoded', headers: { 'Content-Length': '96' }, response: oauthError('invalid_grant', 'Code not valid') })]);
    none(r, 0, 'proxy.interference');
  });

  it('flags a chained proxy that dropped the configured Basic credentials (#upstream_of_lens)', () => {
    const r = runRules([tokenRequest({
      headers: { Via: '1.1 envoy-sidecar' }, form: { grant_type: 'client_credentials', client_id: CLIENT_ID },
      response: oauthError('invalid_client', 'Client authentication failed', 401),
    })], { clients: [{ name: 'prod', clientId: CLIENT_ID, authMethod: 'client_secret_basic' }] });
    const f = only(r, 0, 'proxy.interference');
    expect(f.detail).toMatch(/without the Authorization \(Basic\) header, which client "prod" is configured to send/);
  });

  it('flags a Cloudflare challenge page and a 407 from a chained proxy', () => {
    const r = runRules([
      tokenRequest({ form: ccForm, response: { status: 403, headers: { Server: 'cloudflare', 'cf-mitigated': 'challenge', 'CF-RAY': '8a1b2c3d4e5f6a7b-AMS' }, html: '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>' } }),
      tokenRequest({ form: ccForm, response: { status: 407, headers: { 'Proxy-Authenticate': 'Basic realm="corp"' }, html: '<html><head><title>407 Proxy Authentication Required</title></head></html>' } }),
    ]);
    expect(only(r, 0, 'proxy.interference').evidence?.intermediary_headers).toMatchObject({ 'cf-mitigated': 'challenge' });
    expect(only(r, 1, 'proxy.interference').title).toMatch(/407/);
  });

  it('near miss: an ordinary JSON answer that passed a CDN (Via, X-Cache)', () => {
    const r = runRules([tokenRequest({ form: ccForm, response: { status: 400, headers: { Via: '1.1 varnish', 'X-Cache': 'MISS' }, json: { error: 'invalid_scope' } } })]);
    none(r, 0, 'proxy.interference');
  });
});

describe('capture.exchange_not_observed (R69)', () => {
  const flow = () => [
    authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: STATE, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, { at: T(1) }),
    authorizeRedirect({ code: CODE, state: STATE }, { at: T(5) }),
    callbackRequest({ code: CODE, state: STATE }, { at: T(6) }),
  ];

  it('reports a callback whose code never reached the token endpoint through the lens', () => {
    const r = runRules([...flow(), exchange({ at: T(45), method: 'GET', url: `${APP}/dashboard`, response: { status: 200, html: '<title>Dashboard</title>' } })]);
    const f = only(r, 2, 'capture.exchange_not_observed');
    expect(f.severity).toBe('info');
    expect(f.detail).toMatch(/NODE_USE_ENV_PROXY/);
    none(r, 1, 'capture.exchange_not_observed');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: the token exchange was captured', () => {
    const r = runRules([...flow(), tokenRequest({ at: T(7), url: TOKEN_URL, form: { ...codeForm, code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' } }),
      exchange({ at: T(45), method: 'GET', url: `${APP}/dashboard`, response: { status: 200, html: '<title>Dashboard</title>' } })]);
    none(r, 2, 'capture.exchange_not_observed');
  });
});

describe('on real traffic through the real proxy', () => {
  let lens: TestLens;
  let upstream: Upstream;
  const tlsFailures: Array<{ target: string; code: string }> = [];

  beforeAll(async () => {
    // An AS whose certificate comes from a CA oauth-lens was not told to trust (corporate inspection / private CA).
    upstream = await startHttpsUpstream({ ca: await createTestCa() }, (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"access_token":"never-sent","token_type":"Bearer"}');
    });
    lens = await startTestLens({ onClientTlsError: (target, code) => void tlsFailures.push({ target, code }) });
  });
  afterAll(async () => {
    await lens?.close();
    await upstream?.close();
  });

  it('curl token request to an AS with an untrusted certificate → tls.upstream_handshake_failed', async () => {
    const url = `${upstream.url}/oauth/token`;
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-x', lens.proxy.url, '--cacert', `${lens.ca.paths.dir}/ca.pem`,
      '-d', encodeForm(ccForm), '-w', '\n%{http_code}', url], { encoding: 'utf8' });
    expect(stdout.trim().split('\n').pop()).toBe('502');
    const captured = await lens.waitFor((c) => c.request.url === url);
    const r = runRules([captured]);
    expect(r.exchanges[0]!.oauth.kind).toBe('token');
    const f = only(r, 0, 'tls.upstream_handshake_failed');
    expect(f.primary).toBe(true);
    expect(f.evidence?.transport_error).toMatchObject({ code: 'tls_untrusted' });
    expectNoSecrets(r, SECRETS);
  });

  it('curl that does not trust the oauth-lens CA → tls.client_rejected_lens_ca', async () => {
    const target = `idp.example.com:${upstream.port}`;
    await run('curl', ['-sS', '--max-time', '10', '-x', lens.proxy.url, '--cacert', '/etc/ssl/certs/ca-certificates.crt', `https://${target}/oauth/token`])
      .catch(() => undefined);
    const deadline = Date.now() + 5000;
    while (!tlsFailures.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const failure = tlsFailures.find((t) => t.target === target);
    expect(failure?.code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
    const r = runRules([clientTlsFailureCapture('live-tls-1', failure!.target, failure!.code, T(1), '127.0.0.1')]);
    expect(only(r, 0, 'tls.client_rejected_lens_ca').confidence).toBe('high');
  });
});

