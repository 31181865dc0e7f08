import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_RATE_ALERT_CODE, FailureRateAlerts, startAdminServer, type AdminServer } from '../../src/server/index.js';
import { ExchangeStore, type Alert } from '../../src/store/index.js';
import { FeedRecorder, makeExchange } from './support.js';

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function tokenExchange(store: ExchangeStore, status: number, extra: Parameters<typeof makeExchange>[0] = {}) {
  return makeExchange({ status, kind: 'token', ...extra }, store);
}

describe('failure-rate alert', () => {
  it('fires once on a burst of 5xx, with a pino warning', async () => {
    const store = new ExchangeStore();
    const { logger, lines } = capturingLogger();
    const alerts: Alert[] = [];
    store.on('alert', (alert) => alerts.push(alert));
    const sink = new FailureRateAlerts({ store, logger, thresholds: { failureRateAlert: 0.05 } });
    for (let i = 0; i < 20; i++) store.upsert(tokenExchange(store, 200));
    expect(alerts).toHaveLength(0);
    for (let i = 0; i < 3; i++) store.upsert(tokenExchange(store, 503));
    for (let i = 0; i < 5; i++) store.upsert(tokenExchange(store, 502));
    expect(alerts).toHaveLength(1); // once per episode, not once per failure
    expect(alerts[0]).toMatchObject({ code: FAILURE_RATE_ALERT_CODE, details: { host: 'idp.example.com', failed: 2, total: 22 } });
    expect(alerts[0]!.message).toMatch(/^idp\.example\.com: 2 of the last 22 OAuth exchanges/);
    await new Promise((resolve) => setImmediate(resolve));
    const warning = lines.find((line) => line.alert === FAILURE_RATE_ALERT_CODE);
    expect(warning).toMatchObject({ level: 40 });
    sink.stop();
  });

  it('stays quiet on a healthy stream, on non-OAuth failures and below the minimum sample', () => {
    const store = new ExchangeStore();
    const alerts: Alert[] = [];
    store.on('alert', (alert) => alerts.push(alert));
    const sink = new FailureRateAlerts({ store, logger: pino({ level: 'silent' }) });
    for (let i = 0; i < 200; i++) store.upsert(tokenExchange(store, i % 7 === 0 ? 400 : 200)); // 4xx are OAuth answers, not outages
    for (let i = 0; i < 50; i++) store.upsert(makeExchange({ kind: 'other', status: 500, method: 'GET', url: 'https://api.example.com/x' }, store));
    expect(alerts).toHaveLength(0);

    const fresh = new ExchangeStore();
    const freshAlerts: Alert[] = [];
    fresh.on('alert', (alert) => freshAlerts.push(alert));
    const early = new FailureRateAlerts({ store: fresh, logger: pino({ level: 'silent' }) });
    for (let i = 0; i < 4; i++) fresh.upsert(tokenExchange(fresh, 500));
    expect(freshAlerts).toHaveLength(0); // 4 < minimum sample of 5
    fresh.upsert(tokenExchange(fresh, 500));
    expect(freshAlerts).toHaveLength(1);
    sink.stop();
    early.stop();
  });

  it('judges each provider host on its own', () => {
    const store = new ExchangeStore();
    const alerts: Alert[] = [];
    store.on('alert', (alert) => alerts.push(alert));
    const sink = new FailureRateAlerts({ store, logger: pino({ level: 'silent' }) });
    for (let i = 0; i < 100; i++) store.upsert(tokenExchange(store, 200, { url: 'https://healthy.example.com/token' }));
    for (let i = 0; i < 5; i++) store.upsert(tokenExchange(store, 502, { url: 'https://down.example.net/token' }));
    expect(alerts.map((a) => a.details?.host)).toEqual(['down.example.net']);
    sink.stop();
  });

  it('counts transport errors, forgets outside the window and re-arms after recovery', () => {
    let now = 1_000_000;
    const store = new ExchangeStore();
    const alerts: Alert[] = [];
    store.on('alert', (alert) => alerts.push(alert));
    const sink = new FailureRateAlerts({ store, logger: pino({ level: 'silent' }), thresholds: { failureWindowMs: 10_000 }, now: () => now });
    for (let i = 0; i < 5; i++) store.upsert(makeExchange({ kind: 'token', error: { code: 'refused', message: 'connection refused' } }, store));
    expect(alerts).toHaveLength(1);
    now += 20_000; // the failures leave the window
    for (let i = 0; i < 40; i++) store.upsert(tokenExchange(store, 200));
    expect(alerts).toHaveLength(1);
    for (let i = 0; i < 5; i++) store.upsert(tokenExchange(store, 500));
    expect(alerts).toHaveLength(2);
    sink.stop();
  });
});

describe('alert on the feed', () => {
  let admin: AdminServer;
  const store = new ExchangeStore();
  beforeAll(async () => {
    admin = await startAdminServer({ store, port: 0, token: 'alert-token', thresholds: { failureRateAlert: 0.05 } });
  });
  afterAll(() => admin.close());

  it('reaches viewers as an alert message and in later snapshots', async () => {
    const feed = new FeedRecorder(`${admin.url.replace('http:', 'ws:')}/api/feed?token=alert-token`);
    await feed.opened();
    await feed.waitFor((m) => m.type === 'snapshot');
    for (let i = 0; i < 6; i++) store.upsert(tokenExchange(store, 503));
    const message = await feed.waitFor<{ alert: Alert }>((m) => m.type === 'alert');
    expect(message.alert.code).toBe(FAILURE_RATE_ALERT_CODE);
    feed.close();

    const later = new FeedRecorder(`${admin.url.replace('http:', 'ws:')}/api/feed?token=alert-token`);
    await later.opened();
    const snapshot = await later.waitFor<{ alerts: Alert[] }>((m) => m.type === 'snapshot');
    expect(snapshot.alerts.map((a) => a.code)).toEqual([FAILURE_RATE_ALERT_CODE]);
    later.close();
  });
});
