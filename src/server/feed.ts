/**
 * The live WebSocket feed: a store subscriber that fans each event out to every viewer.
 * Each message is serialised once and shared. A client that reads slower than we produce is
 * never allowed to grow our memory: once its `bufferedAmount` would pass the limit it gets
 * `lagged`, stops receiving deltas, and when its buffer has drained it is resynchronised with a
 * fresh snapshot; if it stays stuck past the lag timeout it is dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Exchange, Redacted } from '../model.js';
import type { Alert, ExchangeStore } from '../store/store.js';
import type { LensLogger } from './logger.js';
import { LENS_VERSION } from './version.js';
import { toSummary, toWire, type FeedMessage, type FeedStats } from './wire.js';

export interface FeedOptions {
  store: ExchangeStore;
  logger: LensLogger;
  /** Bytes a client may have queued before it is marked lagged (default 1 MiB). */
  bufferLimitBytes?: number;
  /** Most exchanges in a snapshot, newest kept (default 1000). */
  snapshotLimit?: number;
  statsIntervalMs?: number;
  /** A lagged client whose buffer does not drain within this time is dropped (default 30 s). */
  lagTimeoutMs?: number;
}

export interface FeedCounters {
  clients: number;
  lagged: number;
  resyncs: number;
  dropped: number;
  /** Sum of every client's bufferedAmount right now. */
  bufferedBytes: number;
  /** Highest bufferedAmount any one client reached. */
  maxBufferedBytes: number;
}

interface FeedClient {
  ws: WebSocket;
  laggedSince?: number;
  alive: boolean;
}

const MAX_RECENT_ALERTS = 20;

export class FeedHub {
  #store: ExchangeStore;
  #logger: LensLogger;
  #bufferLimit: number;
  #snapshotLimit: number;
  #lagTimeoutMs: number;
  #wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false, clientTracking: false });
  #clients = new Set<FeedClient>();
  #alerts: Alert[] = [];
  #unsubscribe: Array<() => void> = [];
  #timers: NodeJS.Timeout[] = [];
  #counters = { lagged: 0, resyncs: 0, dropped: 0, maxBufferedBytes: 0 };

  constructor(options: FeedOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#bufferLimit = options.bufferLimitBytes ?? 1024 * 1024;
    this.#snapshotLimit = options.snapshotLimit ?? 1000;
    this.#lagTimeoutMs = options.lagTimeoutMs ?? 30_000;
    this.#unsubscribe.push(
      this.#store.on('exchange', (exchange, change) => this.#onExchange(exchange, change)),
      this.#store.on('evicted', (ids) => this.#broadcast(JSON.stringify({ type: 'evicted', ids } satisfies FeedMessage))),
      this.#store.on('alert', (alert) => this.#onAlert(alert)),
    );
    this.#timers.push(
      setInterval(() => this.#sendStats(), options.statsIntervalMs ?? 2000).unref(),
      setInterval(() => this.#serviceLagged(), 100).unref(),
      setInterval(() => this.#heartbeat(), 30_000).unref(),
    );
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  counters(): FeedCounters {
    let bufferedBytes = 0;
    let lagged = 0;
    for (const client of this.#clients) {
      bufferedBytes += client.ws.bufferedAmount;
      if (client.laggedSince !== undefined) lagged++;
    }
    return {
      clients: this.#clients.size,
      lagged,
      resyncs: this.#counters.resyncs,
      dropped: this.#counters.dropped,
      bufferedBytes,
      maxBufferedBytes: this.#counters.maxBufferedBytes,
    };
  }

  recentAlerts(): Alert[] {
    return [...this.#alerts];
  }

  close(): void {
    for (const off of this.#unsubscribe) off();
    for (const timer of this.#timers) clearInterval(timer);
    for (const client of this.#clients) client.ws.terminate();
    this.#clients.clear();
    this.#wss.close();
  }

  #accept(ws: WebSocket): void {
    const client: FeedClient = { ws, alive: true };
    this.#clients.add(client);
    ws.on('pong', () => { client.alive = true; });
    ws.on('message', () => { /* viewers have nothing to say; maxPayload keeps it small */ });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => this.#clients.delete(client));
    this.#sendNow(client, JSON.stringify({ type: 'hello', version: LENS_VERSION, serverTime: Date.now() } satisfies FeedMessage));
    this.#sendNow(client, this.#snapshotMessage());
    this.#sendNow(client, JSON.stringify(this.#statsMessage()));
  }

  #onExchange(exchange: Redacted<Exchange>, change: 'added' | 'updated'): void {
    if (this.#clients.size === 0) return;
    this.#broadcast(JSON.stringify({ type: 'exchange', exchange: toWire(exchange), change } satisfies FeedMessage));
  }

  #onAlert(alert: Alert): void {
    this.#alerts.push(alert);
    if (this.#alerts.length > MAX_RECENT_ALERTS) this.#alerts.shift();
    this.#broadcast(JSON.stringify({ type: 'alert', alert } satisfies FeedMessage));
  }

  #broadcast(data: string): void {
    for (const client of this.#clients) this.#send(client, data);
  }

  /** Send a delta unless the client is lagged or this message would push it past the limit. */
  #send(client: FeedClient, data: string): void {
    if (client.laggedSince !== undefined || client.ws.readyState !== client.ws.OPEN) return;
    const buffered = client.ws.bufferedAmount;
    if (buffered > 0 && buffered + Buffer.byteLength(data) > this.#bufferLimit) {
      this.#markLagged(client);
      return;
    }
    this.#sendNow(client, data);
  }

  #sendNow(client: FeedClient, data: string): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(data);
    const buffered = client.ws.bufferedAmount;
    if (buffered > this.#counters.maxBufferedBytes) this.#counters.maxBufferedBytes = buffered;
  }

  #markLagged(client: FeedClient): void {
    client.laggedSince = Date.now();
    this.#counters.lagged++;
    this.#logger.warn({ buffered: client.ws.bufferedAmount }, 'feed client lagging; pausing its deltas');
    this.#sendNow(client, JSON.stringify({ type: 'lagged', reason: 'send buffer full', resync: true } satisfies FeedMessage));
  }

  /** Resynchronise lagged clients whose buffer drained; drop the ones stuck too long. */
  #serviceLagged(): void {
    const now = Date.now();
    for (const client of this.#clients) {
      if (client.laggedSince === undefined) continue;
      if (client.ws.bufferedAmount <= this.#bufferLimit / 4) {
        client.laggedSince = undefined;
        this.#counters.resyncs++;
        this.#sendNow(client, this.#snapshotMessage());
      } else if (now - client.laggedSince > this.#lagTimeoutMs) {
        this.#counters.dropped++;
        this.#logger.warn('feed client dropped: it stopped reading');
        this.#clients.delete(client);
        client.ws.terminate();
      }
    }
  }

  #snapshotMessage(): string {
    const all = this.#store.list();
    const recent = all.slice(Math.max(0, all.length - this.#snapshotLimit));
    return JSON.stringify({
      type: 'snapshot',
      exchanges: recent.map(toSummary),
      total: all.length,
      alerts: this.recentAlerts(),
    } satisfies FeedMessage);
  }

  #statsMessage(): FeedMessage {
    return { type: 'stats', stats: computeStats(this.#store, this.#clients.size), serverTime: Date.now() };
  }

  #sendStats(): void {
    if (this.#clients.size === 0) return;
    this.#broadcast(JSON.stringify(this.#statsMessage()));
  }

  #heartbeat(): void {
    for (const client of this.#clients) {
      if (!client.alive) {
        this.#clients.delete(client);
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }
}

export function computeStats(store: ExchangeStore, clients: number): FeedStats {
  const stats: FeedStats = { exchanges: store.size, oauth: 0, withFindings: 0, errors: 0, failures: 0, storeBytes: store.bytes, clients };
  for (const exchange of store.list()) {
    if (exchange.oauth.kind !== 'other') stats.oauth++;
    if (exchange.oauth.findings.length > 0) stats.withFindings++;
    if (exchange.oauth.findings.some((finding) => finding.severity === 'error')) stats.errors++;
    if (exchange.error || (exchange.response && exchange.response.status >= 500)) stats.failures++;
  }
  return stats;
}
