/**
 * Regressions from the leak review: secret positions the property test did not generate.
 * Each goes through the real engine; the serialised redacted exchange must not contain the value.
 */
import { describe, expect, it } from 'vitest';
import { OAuthEngine } from '../../src/oauth/engine.js';
import { exchangeLine } from '../../src/log.js';
import { exchange, TEST_FINGERPRINT_KEY } from '../support/exchanges.js';

const SECRET = 'Zq8Lr2Vw6Xp0Tn4Ks1Hd9Jf3';

function stored(captured: ReturnType<typeof exchange>): string {
  return JSON.stringify(new OAuthEngine({ fingerprintKey: TEST_FINGERPRINT_KEY }).ingest(captured, 1).exchange);
}

describe('redaction: positions found by review', () => {
  it('a password sent as a JSON number', () => {
    const out = stored(exchange({ json: { username: 'bob', password: 12345678901234 } }, { method: 'POST', url: 'https://idp.example.com/login' }));
    expect(out).not.toContain('12345678901234');
    expect(out).toContain('bob');
  });

  it('keeps numeric provider error codes readable', () => {
    const out = stored(exchange({ form: { grant_type: 'client_credentials' } }, {
      method: 'POST', url: 'https://graph.facebook.com/oauth/access_token',
      response: { status: 400, json: { error: { message: 'Invalid verification code format.', code: 100, fbtrace_id: 'AbC' } } },
    }));
    expect(out).toContain('"code":100');
  });

  it.each(['Cookie2', 'Set-Cookie2', 'X-Auth', 'X-Auth-Key', 'Ocp-Apim-Subscription-Key', 'X-Partner-Access-Key'])('the %s header', (name) => {
    const out = stored(exchange({ headers: { [name]: SECRET } }, { method: 'GET', url: 'https://api.example.com/v1/me' }));
    expect(out).not.toContain(SECRET);
  });

  it('a SAMLResponse form field', () => {
    const saml = Buffer.from(`<samlp:Response>${SECRET}</samlp:Response>`).toString('base64');
    const out = stored(exchange({ form: { SAMLResponse: saml, RelayState: 'x' } }, { method: 'POST', url: 'https://app.example.com/saml/acs' }));
    expect(out).not.toContain(saml);
    expect(out).not.toContain(saml.slice(0, 24));
  });
});

describe('the per-exchange log line (built before redaction)', () => {
  const line = (url: string) => exchangeLine({ id: '1', timings: { start: 0 }, request: { method: 'GET', url } });

  it('drops ;params and long path segments, keeps ordinary paths', () => {
    expect(line(`http://127.0.0.1:8080/login;jsessionid=${SECRET}`).path).toBe('/login');
    expect(line(`https://hooks.slack.com/services/T000/B000/${SECRET}`).path).toBe('/services/T000/B000/*');
    expect(line('https://idp.example.com/oauth2/v2.0/token?code=abc').path).toBe('/oauth2/v2.0/token');
  });
});

describe('redaction: XML bodies and URL credentials', () => {
  it('secret-named XML elements, any namespace prefix', () => {
    const xml = `<soap:Envelope><soap:Body><ns1:client_secret>${SECRET}</ns1:client_secret><user>bob</user></soap:Body></soap:Envelope>`;
    const out = stored(exchange({ body: xml, contentType: 'text/xml' }, { method: 'POST', url: 'https://idp.example.com/soap/token' }));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('<user>bob</user>');
  });

  it('the password of scheme://user:password@host', () => {
    const out = stored(exchange({}, { method: 'GET', url: `https://alice:${SECRET}@app.example.com/private` }));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('alice');
  });
});

describe('redaction: WebSocket subprotocols and multipart edge cases', () => {
  it('a Kubernetes bearer token in Sec-WebSocket-Protocol, and the decoded token wherever it is echoed', () => {
    const token = `${SECRET}.k8s-service-account`;
    const encoded = Buffer.from(token).toString('base64url');
    const out = stored(exchange({
      headers: { 'Sec-WebSocket-Protocol': `base64url.bearer.authorization.k8s.io.${encoded}, base64.binary.k8s.io` },
      response: { status: 403, json: { message: `token ${token} is not allowed` } },
    }, { method: 'GET', url: 'https://k8s.example.com/api/v1/namespaces/default/pods/p/exec' }));
    expect(out).not.toContain(encoded);
    expect(out).not.toContain(SECRET);
    expect(out).toContain('base64url.bearer.authorization.k8s.io.[REDACTED');
    expect(out).toContain('base64.binary.k8s.io');
  });

  const multipart = (part: string) => exchange({ body: `--B\r\n${part}`, contentType: 'multipart/form-data; boundary=B' }, { method: 'POST', url: 'https://idp.example.com/oauth/token' });

  it('a multipart part named without quotes', () => {
    const out = stored(multipart(`Content-Disposition: form-data; name=client_secret\r\n\r\n${SECRET}\r\n--B--\r\n`));
    expect(out).not.toContain(SECRET);
  });

  it('the last multipart part of a body cut at the capture cap (no closing boundary)', () => {
    const out = stored(multipart(`Content-Disposition: form-data; name="grant_type"\r\n\r\npassword\r\n--B\r\nContent-Disposition: form-data; name="password"\r\n\r\n${SECRET}`));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('password');
  });
});

describe('redaction: secrets that are URL path segments', () => {
  it('a webhook URL, a Telegram bot token and a reset link lose their token segments; ids and words stay', () => {
    const slack = `https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/${SECRET}`;
    const out = stored(exchange({ json: { text: 'hi' }, headers: { Referer: `https://app.example.com/reset/${SECRET}x` } }, { method: 'POST', url: slack }));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('/services/T0AB12CD3/B0EF45GH6/[REDACTED path_token');
    const bot = 'bot123456789:AAEhBOweik6ad9r_QxXxxxXxxXxxXxxXxxX';
    const telegram = stored(exchange({ json: { chat_id: 1 } }, { method: 'POST', url: `https://api.telegram.org/${bot}/sendMessage` }));
    expect(telegram).not.toContain('AAEhBOweik6ad9r_QxXxxxXxxXxxXxxXxxX');
    expect(telegram).toContain('/sendMessage');
    const ids = stored(exchange({ form: { grant_type: 'client_credentials' } }, {
      method: 'POST', url: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token',
    }));
    expect(ids).toContain('/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token');
  });
});
