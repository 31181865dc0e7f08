/**
 * Failure-rate alert (config `thresholds.failureRateAlert`): when more than that share of the token
 * exchanges to one host failed within the outage window (and at least `minSamples` were seen), one
 * alert is raised for that host; it re-arms when the rate falls back under the threshold.
 */
import type { Alert } from '../store/store.js';
import type { Thresholds } from './config.js';
import { failed } from './facts.js';
import type { AnalyzedExchange } from './types.js';

export class FailureRateMonitor {
  #recent = new Map<string, Array<{ at: number; failed: boolean }>>();
  #raised = new Set<string>();
  #t: Thresholds;
  #minSamples: number;

  constructor(thresholds: Thresholds, minSamples = 10) {
    this.#t = thresholds;
    this.#minSamples = minSamples;
  }

  observe(ex: AnalyzedExchange): Alert | undefined {
    if (ex.kind !== 'token') return undefined;
    const host = ex.request.url.host;
    const list = this.#recent.get(host) ?? [];
    list.push({ at: ex.at, failed: failed(ex) });
    const cutoff = ex.at - this.#t.outage.windowMs;
    while (list.length && (list[0]?.at ?? 0) < cutoff) list.shift();
    if (list.length > 10_000) list.splice(0, list.length - 10_000);
    this.#recent.delete(host);
    this.#recent.set(host, list);
    if (this.#recent.size > 1_000) {
      const first = this.#recent.keys().next();
      if (!first.done) this.#recent.delete(first.value);
    }
    const failures = list.filter((x) => x.failed).length;
    const rate = failures / list.length;
    if (list.length < this.#minSamples || rate <= this.#t.failureRateAlert) {
      if (rate <= this.#t.failureRateAlert) this.#raised.delete(host);
      return undefined;
    }
    if (this.#raised.has(host)) return undefined;
    this.#raised.add(host);
    const minutes = Math.round(this.#t.outage.windowMs / 60_000);
    return {
      code: 'oauth.failure_rate',
      message: `${Math.round(rate * 100)}% of token requests to ${host} failed in the last ${minutes} min (${failures} of ${list.length}; alert above ${Math.round(this.#t.failureRateAlert * 100)}%)`,
      at: ex.at,
      details: { host, failed: failures, total: list.length, rate: Number(rate.toFixed(3)), threshold: this.#t.failureRateAlert, exchangeId: ex.id },
    };
  }
}
