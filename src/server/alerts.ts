/**
 * Failure-rate alert: a store subscriber that watches OAuth exchanges (kind ≠ other) per provider
 * host in a sliding window and raises `store.alert(...)` (→ feed `alert`, viewer banner) plus a
 * pino warning when more than `failureRateAlert` of them got a 5xx or a transport error. Per host,
 * so one IdP's outage is not diluted by a healthy one. It needs a minimum sample so a single early
 * failure does not alarm, and fires once per episode: it re-arms only after the rate has fallen
 * back to or below the threshold.
 */
import type { Exchange, Redacted } from '../model.js';
import type { ExchangeStore } from '../store/store.js';
import type { LensLogger } from './logger.js';

export interface AlertThresholds {
  /** Fraction of failed OAuth exchanges that raises the alert (default 0.05). */
  failureRateAlert?: number;
  /** Sliding window length (default 60 s). */
  failureWindowMs?: number;
  /** OAuth exchanges needed in the window before the rate means anything (default 5). */
  failureMinSample?: number;
}

export const FAILURE_RATE_ALERT_CODE = 'oauth.failure_rate';

interface Outcome {
  at: number;
  failed: boolean;
}

export class FailureRateAlerts {
  #store: ExchangeStore;
  #logger: LensLogger;
  #rate: number;
  #windowMs: number;
  #minSample: number;
  #now: () => number;
  /** Per host: completed OAuth exchanges in the window, by id, oldest first (Map keeps insertion order). */
  #hosts = new Map<string, { outcomes: Map<string, Outcome>; alerting: boolean }>();
  #unsubscribe: () => void;

  constructor(options: { store: ExchangeStore; logger: LensLogger; thresholds?: AlertThresholds; now?: () => number }) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#rate = options.thresholds?.failureRateAlert ?? 0.05;
    this.#windowMs = options.thresholds?.failureWindowMs ?? 60_000;
    this.#minSample = options.thresholds?.failureMinSample ?? 5;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = this.#store.on('exchange', (exchange) => this.#observe(exchange));
  }

  stop(): void {
    this.#unsubscribe();
  }

  #observe(exchange: Redacted<Exchange>): void {
    if (exchange.oauth.kind === 'other') return;
    if (!exchange.response && !exchange.error) return; // still in flight
    const now = this.#now();
    const failed = Boolean(exchange.error) || (exchange.response?.status ?? 0) >= 500;
    const host = hostOf(exchange.request.url);
    let state = this.#hosts.get(host);
    if (!state) {
      state = { outcomes: new Map(), alerting: false };
      this.#hosts.set(host, state);
    }
    // An update (findings changed) keeps its original place in the window.
    const previous = state.outcomes.get(exchange.id);
    state.outcomes.set(exchange.id, { at: previous?.at ?? now, failed });
    this.#expire(now);
    this.#evaluate(host, state, now);
  }

  /** Drops outcomes older than the window, and hosts with none left (memory stays bounded). */
  #expire(now: number): void {
    for (const [host, state] of this.#hosts) {
      for (const [id, outcome] of state.outcomes) {
        if (now - outcome.at <= this.#windowMs) break;
        state.outcomes.delete(id);
      }
      if (state.outcomes.size === 0) this.#hosts.delete(host);
    }
  }

  #evaluate(host: string, state: { outcomes: Map<string, Outcome>; alerting: boolean }, now: number): void {
    const total = state.outcomes.size;
    let failedCount = 0;
    for (const outcome of state.outcomes.values()) if (outcome.failed) failedCount++;
    const rate = total === 0 ? 0 : failedCount / total;
    if (total < this.#minSample || rate <= this.#rate) {
      if (rate <= this.#rate) state.alerting = false;
      return;
    }
    if (state.alerting) return;
    state.alerting = true;
    const percent = Math.round(rate * 100);
    const message =
      `${host}: ${failedCount} of the last ${total} OAuth exchanges (${percent}%) failed with a 5xx or a transport error ` +
      `within ${Math.round(this.#windowMs / 1000)} s (threshold ${Math.round(this.#rate * 100)}%)`;
    const details = { host, failed: failedCount, total, rate, windowMs: this.#windowMs, threshold: this.#rate };
    this.#logger.warn({ alert: FAILURE_RATE_ALERT_CODE, ...details }, message);
    this.#store.alert({ code: FAILURE_RATE_ALERT_CODE, message, at: now, details });
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown host';
  }
}
