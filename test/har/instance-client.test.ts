import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFromInstance, resolveInstance } from '../../src/har/instance-client.js';

const state = { uiUrl: 'http://127.0.0.1:9/', token: 'from-state', proxyUrl: '', pid: 1 };

describe('resolveInstance', () => {
  it('prefers flags, then OAUTH_LENS_TOKEN and ?token=, then the state file', () => {
    expect(resolveInstance({ url: 'http://127.0.0.1:1', token: 't' }, {}, () => state)).toEqual({ origin: 'http://127.0.0.1:1', token: 't' });
    expect(resolveInstance({ url: 'http://127.0.0.1:1' }, { OAUTH_LENS_TOKEN: 'env' }, () => state).token).toBe('env');
    expect(resolveInstance({ url: 'http://127.0.0.1:1/?token=q' }, {}, () => undefined).token).toBe('q');
    expect(resolveInstance({}, {}, () => state)).toEqual({ origin: 'http://127.0.0.1:9', token: 'from-state' });
  });

  it('never sends the state file token to a different --url', () => {
    expect(() => resolveInstance({ url: 'http://127.0.0.1:1' }, {}, () => state)).toThrow(expect.objectContaining({ code: 'OAL_ERR_NO_TOKEN' }));
  });

  it('explains what is missing with stable codes', () => {
    expect(() => resolveInstance({}, {}, () => undefined)).toThrow(expect.objectContaining({ code: 'OAL_ERR_NO_INSTANCE' }));
    expect(() => resolveInstance({ url: 'not a url', token: 't' }, {}, () => undefined)).toThrow(expect.objectContaining({ code: 'OAL_ERR_BAD_URL' }));
  });
});

describe('getFromInstance', () => {
  let server: Server;
  let origin = '';
  const seen: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Bearer good') return void res.writeHead(401).end();
      if (req.url === '/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"No such exchange"}}');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the token as a Bearer header and maps failures to codes without echoing it', async () => {
    await expect(getFromInstance({ origin, token: 'good' }, '/x')).resolves.toMatchObject({ text: 'hello' });
    expect(seen.at(-1)).toBe('Bearer good');
    const refused = getFromInstance({ origin, token: 'bad-token-value' }, '/x');
    await expect(refused).rejects.toMatchObject({ code: 'OAL_ERR_UNAUTHORIZED' });
    await expect(refused).rejects.not.toThrow(/bad-token-value/);
    await expect(getFromInstance({ origin, token: 'good' }, '/missing')).rejects.toMatchObject({ code: 'OAL_ERR_NOT_FOUND', message: 'oauth-lens answered HTTP 404: No such exchange' });
    await expect(getFromInstance({ origin: 'http://127.0.0.1:1', token: 'good' }, '/x')).rejects.toMatchObject({ code: 'OAL_ERR_UNREACHABLE' });
  });
});
