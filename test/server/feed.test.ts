import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer, type WireExchange, type WireSummary } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/store.js';
import { FeedRecorder, makeExchange, makeFinding, SECRET_MARKER } from './support.js';

const TOKEN = 'feed-token-abcdef';

describe('WebSocket feed', () => {
  let admin: AdminServer;
  const store = new ExchangeStore();
  const feedUrl = () => `${admin.url.replace('http:', 'ws:')}/api/feed?token=${TOKEN}`;

  beforeAll(async () => {
    admin = await startAdminServer({
      store, port: 0, token: TOKEN,
      feed: { bufferLimitBytes: 256 * 1024, statsIntervalMs: 200, lagTimeoutMs: 20_000 },
    });
    store.upsert(makeExchange({ id: 'before-connect', kind: 'discovery', method: 'GET', url: 'https://idp.example.com/.well-known/openid-configuration', status: 200 }, store));
  });
  afterAll(() => admin.close());

  it('sends hello, then a snapshot, then each exchange and its update with the same id', async () => {
    const feed = new FeedRecorder(feedUrl());
    await feed.opened();
    const hello = await feed.waitFor<{ version: string; serverTime: number }>((m) => m.type === 'hello');
    expect(hello.version).toMatch(/^\d+\.\d+\.\d+/);
    const snapshot = await feed.waitFor<{ exchanges: WireSummary[] }>((m) => m.type === 'snapshot');
    expect(feed.messages.map((m) => m.type).slice(0, 2)).toEqual(['hello', 'snapshot']);
    expect(snapshot.exchanges.map((e) => e.id)).toContain('before-connect');

    const exchange = makeExchange({ id: 'live-1', flowId: 'flow-1', status: 400, findings: [makeFinding()] }, store);
    store.upsert(exchange);
    const added = await feed.waitFor<{ exchange: WireExchange; change: string }>((m) => m.type === 'exchange' && (m.exchange as WireExchange).id === 'live-1');
    expect(added.change).toBe('added');
    expect(added.exchange.summary).toMatchObject({ kind: 'token', status: 400, flowId: 'flow-1', worst: 'error' });
    expect(added.exchange.oauth.findings[0]).toMatchObject({ code: 'redirect_uri.trailing_slash', fix: expect.stringContaining('trailing slash') });
    expect(added.exchange.request.body.form).toContainEqual(['client_secret', SECRET_MARKER]);

    const updated = { ...exchange, oauth: { ...exchange.oauth, findings: [...exchange.oauth.findings, makeFinding({ code: 'code.reused', severity: 'warning', title: 'Authorization code used twice', primary: false })] } };
    store.upsert(updated as typeof exchange);
    const second = await feed.waitFor<{ exchange: WireExchange; change: string }>((m) => m.type === 'exchange' && m.change === 'updated');
    expect(second.exchange.id).toBe('live-1');
    expect(second.exchange.summary.findings.map((f) => f.code)).toEqual(['redirect_uri.trailing_slash', 'code.reused']);

    const stats = await feed.waitFor<{ stats: { exchanges: number; withFindings: number } }>((m) => m.type === 'stats' && (m.stats as { exchanges: number }).exchanges === 2);
    expect(stats.stats.withFindings).toBe(1);
    feed.close();
  });

  it('serialises each event once and shares it: REST and feed agree', async () => {
    const feed = new FeedRecorder(feedUrl());
    await feed.opened();
    await feed.waitFor((m) => m.type === 'snapshot');
    store.upsert(makeExchange({ id: 'shared-1', status: 200, kind: 'userinfo', method: 'GET', url: 'https://idp.example.com/userinfo' }, store));
    const message = await feed.waitFor<{ exchange: WireExchange }>((m) => m.type === 'exchange' && (m.exchange as WireExchange).id === 'shared-1');
    const rest = await (await fetch(`${admin.url}/api/exchanges/shared-1`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    expect(rest).toEqual(message.exchange);
    feed.close();
  });

  it('a client that stops reading gets lagged, then a fresh snapshot, and server memory stays bounded', async () => {
    const slow = new FeedRecorder(feedUrl());
    await slow.opened();
    await slow.waitFor((m) => m.type === 'snapshot');
    const fast = new FeedRecorder(feedUrl());
    await fast.opened();
    await fast.waitFor((m) => m.type === 'snapshot');

    // Stop reading: the kernel buffers fill, then the server's ws send buffer would grow.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(100 * 1024);
    const sentBytesTotal = 300 * big.length; // ~30 MB offered to the slow client
    for (let i = 0; i < 300; i++) {
      store.upsert(makeExchange({ id: `burst-${i}`, status: 200, kind: 'jwks', method: 'GET', url: 'https://idp.example.com/jwks', responseText: big, responseJson: {} }, store));
      // Pace the burst by the reading client, so only the paused one falls behind, however loaded the machine.
      await fast.waitFor((m) => m.type === 'exchange' && (m.exchange as WireExchange).id === `burst-${i}`, 15_000);
    }
    const counters = admin.feedCounters();
    expect(counters.lagged).toBeGreaterThanOrEqual(1);
    // Bounded: the limit (256 KiB) plus at most one message, far below what was offered.
    expect(counters.maxBufferedBytes).toBeLessThan(256 * 1024 + 2 * big.length);
    expect(counters.maxBufferedBytes).toBeLessThan(sentBytesTotal / 20);

    // The reading client saw every exchange and was never lagged.
    expect(fast.messages.filter((m) => m.type === 'exchange')).toHaveLength(300);
    expect(fast.messages.some((m) => m.type === 'lagged')).toBe(false);

    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.waitFor((m) => m.type === 'lagged', 15_000);
    const lagIndex = slow.messages.findIndex((m) => m.type === 'lagged');
    const resync = await slow.waitFor<{ exchanges: WireSummary[] }>((m) => m.type === 'snapshot' && slow.messages.indexOf(m) > lagIndex, 15_000);
    expect(resync.exchanges.map((e) => e.id)).toContain('burst-299');
    const received = slow.messages.filter((m) => m.type === 'exchange').length;
    expect(received).toBeLessThan(300);
    expect(admin.feedCounters().resyncs).toBeGreaterThanOrEqual(1);
    slow.close();
    fast.close();
  });

  it('tells viewers about evictions', async () => {
    const small = new ExchangeStore({ maxExchanges: 2 });
    const server = await startAdminServer({ store: small, port: 0, token: TOKEN });
    try {
      const feed = new FeedRecorder(`${server.url.replace('http:', 'ws:')}/api/feed?token=${TOKEN}`);
      await feed.opened();
      await feed.waitFor((m) => m.type === 'snapshot');
      for (const id of ['e1', 'e2', 'e3']) small.upsert(makeExchange({ id }, small));
      const evicted = await feed.waitFor<{ ids: string[] }>((m) => m.type === 'evicted');
      expect(evicted.ids).toEqual(['e1']);
      feed.close();
    } finally {
      await server.close();
    }
  });
});
