import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer, type WireSummary } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/store.js';
import { makeExchange, makeFinding, rawGet } from './support.js';

describe('GET /api/exchanges filters', () => {
  let admin: AdminServer;
  const store = new ExchangeStore();
  const list = async (query: string) => {
    const res = await rawGet(admin.url, `/api/exchanges${query}`, { Authorization: 'Bearer api-token' });
    expect(res.status).toBe(200);
    return (JSON.parse(res.body) as { exchanges: WireSummary[]; total: number });
  };

  beforeAll(async () => {
    admin = await startAdminServer({ store, port: 0, token: 'api-token' });
    store.upsert(makeExchange({ id: 'a', kind: 'discovery', method: 'GET', url: 'https://idp.example.com/.well-known/openid-configuration', status: 200 }, store));
    store.upsert(makeExchange({ id: 'b', flowId: 'flow-1', status: 400, findings: [makeFinding()] }, store));
    store.upsert(makeExchange({ id: 'c', kind: 'other', method: 'GET', url: 'https://api.other.test/items', status: 200 }, store));
    store.upsert(makeExchange({ id: 'd', flowId: 'flow-1', kind: 'userinfo', method: 'GET', url: 'https://idp.example.com/userinfo', status: 401 }, store));
  });
  afterAll(() => admin.close());

  it('lists summaries oldest first with totals', async () => {
    const all = await list('');
    expect(all.total).toBe(4);
    expect(all.exchanges.map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(all.exchanges[1]).toMatchObject({ kind: 'token', host: 'idp.example.com', path: '/oauth/token', status: 400, worst: 'error', durationMs: 42 });
  });

  it('filters by kind, flow, host, findings, oauth, text, since and limit', async () => {
    const ids = async (query: string) => (await list(query)).exchanges.map((e) => e.id);
    expect(await ids('?kind=userinfo')).toEqual(['d']);
    expect(await ids('?flow=flow-1')).toEqual(['b', 'd']);
    expect(await ids('?host=other.test')).toEqual(['c']);
    expect(await ids('?findings=1')).toEqual(['b']);
    expect(await ids('?oauth=1')).toEqual(['a', 'b', 'd']);
    expect(await ids('?q=trailing_slash')).toEqual(['b']);
    expect(await ids('?q=USERINFO')).toEqual(['d']);
    const since = (await list('')).exchanges[1]!.seq;
    expect(await ids(`?since=${since}`)).toEqual(['c', 'd']);
    const limited = await list('?limit=2');
    expect(limited.exchanges.map((e) => e.id)).toEqual(['c', 'd']);
    expect(limited.total).toBe(4);
  });

  it('answers 404 for unknown exchanges and routes', async () => {
    const auth = { Authorization: 'Bearer api-token' };
    const missing = await rawGet(admin.url, '/api/exchanges/nope', auth);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'not_found' } });
    expect((await rawGet(admin.url, '/api/nothing', auth)).status).toBe(404);
    expect((await rawGet(admin.url, '/assets/../../package.json', auth)).status).toBe(404);
  });
});
