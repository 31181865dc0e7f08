/**
 * Failure-rate alert: a store subscriber that watches OAuth exchanges (kind ≠ other) in a sliding
 * window and raises `store.alert(...)` (→ feed `alert`, viewer banner) plus a pino warning when
 * more than `failureRateAlert` of them got a 5xx or a transport error. It needs a minimum sample so
 * a single early failure does not alarm, and fires once per episode: it re-arms only after the
 * rate has fallen back to or below the threshold.
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
  /** Completed OAuth exchanges in the window, by id, oldest first (Map keeps insertion order). */
  #outcomes = new Map<string, Outcome>();
  #alerting = false;
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
    // An update (findings changed) keeps its original place in the window.
    const previous = this.#outcomes.get(exchange.id);
    this.#outcomes.set(exchange.id, { at: previous?.at ?? now, failed });
    this.#expire(now);
    this.#evaluate(now);
  }

  #expire(now: number): void {
    for (const [id, outcome] of this.#outcomes) {
      if (now - outcome.at <= this.#windowMs) break;
      this.#outcomes.delete(id);
    }
  }

  #evaluate(now: number): void {
    const total = this.#outcomes.size;
    let failedCount = 0;
    for (const outcome of this.#outcomes.values()) if (outcome.failed) failedCount++;
    const rate = total === 0 ? 0 : failedCount / total;
    if (total < this.#minSample || rate <= this.#rate) {
      if (rate <= this.#rate) this.#alerting = false;
      return;
    }
    if (this.#alerting) return;
    this.#alerting = true;
    const percent = Math.round(rate * 100);
    const message =
      `${failedCount} of the last ${total} OAuth exchanges (${percent}%) failed with a 5xx or a transport error ` +
      `within ${Math.round(this.#windowMs / 1000)} s (threshold ${Math.round(this.#rate * 100)}%)`;
    const details = { failed: failedCount, total, rate, windowMs: this.#windowMs, threshold: this.#rate };
    this.#logger.warn({ alert: FAILURE_RATE_ALERT_CODE, ...details }, message);
    this.#store.alert({ code: FAILURE_RATE_ALERT_CODE, message, at: now, details });
  }
}
