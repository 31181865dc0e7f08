/**
 * The bounded in-memory store of redacted exchanges: the hub that the feed, the API,
 * HAR export and the log sink subscribe to. `upsert` is by id, so an exchange whose findings
 * change later (a reused code is only visible at the second exchange) is emitted again.
 */
import type { Exchange, Redacted } from '../model.js';

export interface StoreLimits {
  /** Most exchanges kept (default 10,000). */
  maxExchanges: number;
  /** Approximate bytes kept (default 256 MiB). */
  maxBytes: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxExchanges: 10_000, maxBytes: 256 * 1024 * 1024 };

export interface Alert {
  code: string;
  message: string;
  at: number;
  details?: Record<string, unknown>;
}

export interface StoreEvents {
  /** A new exchange, or a stored one whose content (findings, flow) changed. */
  exchange: (exchange: Redacted<Exchange>, change: 'added' | 'updated') => void;
  /** Exchanges dropped to stay within limits. */
  evicted: (ids: string[]) => void;
  alert: (alert: Alert) => void;
}

type Listener<K extends keyof StoreEvents> = StoreEvents[K];

export class ExchangeStore {
  readonly limits: StoreLimits;
  #items = new Map<string, { exchange: Redacted<Exchange>; bytes: number }>();
  #bytes = 0;
  #seq = 0;
  #listeners: { [K in keyof StoreEvents]: Set<Listener<K>> } = {
    exchange: new Set(),
    evicted: new Set(),
    alert: new Set(),
  };
  /** Count of listener exceptions swallowed; a broken sink never breaks capture. */
  listenerErrors = 0;
  onListenerError: (err: unknown, event: keyof StoreEvents) => void = () => {};

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits };
  }

  /** Next sequence number; the engine stamps it on a new exchange before upserting. */
  nextSeq(): number {
    return ++this.#seq;
  }

  upsert(exchange: Redacted<Exchange>): void {
    const bytes = estimateBytes(exchange);
    const previous = this.#items.get(exchange.id);
    if (previous) {
      this.#bytes -= previous.bytes;
      this.#items.set(exchange.id, { exchange, bytes });
      this.#bytes += bytes;
      this.#emit('exchange', exchange, 'updated');
      return;
    }
    this.#items.set(exchange.id, { exchange, bytes });
    this.#bytes += bytes;
    this.#emit('exchange', exchange, 'added');
    this.#evict();
  }

  get(id: string): Redacted<Exchange> | undefined {
    return this.#items.get(id)?.exchange;
  }

  /** All kept exchanges, oldest first. */
  list(): Redacted<Exchange>[] {
    return Array.from(this.#items.values(), (item) => item.exchange);
  }

  get size(): number {
    return this.#items.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  alert(alert: Alert): void {
    this.#emit('alert', alert);
  }

  on<K extends keyof StoreEvents>(event: K, listener: StoreEvents[K]): () => void {
    this.#listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof StoreEvents>(event: K, listener: StoreEvents[K]): void {
    this.#listeners[event].delete(listener);
  }

  clear(): void {
    const ids = [...this.#items.keys()];
    this.#items.clear();
    this.#bytes = 0;
    if (ids.length) this.#emit('evicted', ids);
  }

  #evict(): void {
    const dropped: string[] = [];
    for (const [id, item] of this.#items) {
      if (this.#items.size <= this.limits.maxExchanges && this.#bytes <= this.limits.maxBytes) break;
      if (this.#items.size === 1) break; // always keep the newest exchange
      this.#items.delete(id);
      this.#bytes -= item.bytes;
      dropped.push(id);
    }
    if (dropped.length) this.#emit('evicted', dropped);
  }

  #emit<K extends keyof StoreEvents>(event: K, ...args: Parameters<StoreEvents[K]>): void {
    for (const listener of this.#listeners[event]) {
      try {
        (listener as (...a: Parameters<StoreEvents[K]>) => void)(...args);
      } catch (err) {
        this.listenerErrors++;
        try {
          this.onListenerError(err, event);
        } catch {
          // the error reporter itself must not break capture either
        }
      }
    }
  }
}

/** Cheap size estimate: bodies dominate, headers and metadata are approximated. */
function estimateBytes(exchange: Exchange): number {
  let bytes = 1024 + exchange.request.url.length;
  for (const [name, value] of exchange.request.headers) bytes += name.length + value.length;
  bytes += exchange.request.body.text?.length ?? 0;
  if (exchange.response) {
    for (const [name, value] of exchange.response.headers) bytes += name.length + value.length;
    bytes += exchange.response.body.text?.length ?? 0;
  }
  return bytes * 2; // UTF-16 strings plus parsed copies (form/json)
}
