/**
 * The viewer's copy of the store: every summary (the server bounds how many), full exchanges for
 * the most recent ones only (the rest are fetched on demand), filters, and the grouped view.
 */
import type { Alert } from '../../store/store.js';
import type { FeedStats, WireExchange, WireSummary } from '../../server/wire.js';

export interface Filters {
  oauthOnly: boolean;
  findingsOnly: boolean;
  host: string;
  text: string;
}

/** One row of the list: a flow header or an exchange (indented when inside a flow). */
export type Row =
  | { type: 'flow'; flowId: string; items: WireSummary[] }
  | { type: 'exchange'; summary: WireSummary; inFlow: boolean };

const FULL_CACHE_LIMIT = 200;

export class ViewerModel {
  summaries = new Map<string, WireSummary>();
  #full = new Map<string, WireExchange>();
  alerts: Alert[] = [];
  stats?: FeedStats;
  filters: Filters = { oauthOnly: false, findingsOnly: false, host: '', text: '' };

  applySnapshot(summaries: WireSummary[], alerts: Alert[]): void {
    this.summaries = new Map(summaries.map((summary) => [summary.id, summary]));
    for (const id of this.#full.keys()) if (!this.summaries.has(id)) this.#full.delete(id);
    this.alerts = alerts;
  }

  upsert(exchange: WireExchange): void {
    this.summaries.set(exchange.id, exchange.summary);
    this.cacheFull(exchange);
  }

  cacheFull(exchange: WireExchange): void {
    this.#full.delete(exchange.id);
    this.#full.set(exchange.id, exchange);
    if (this.#full.size > FULL_CACHE_LIMIT) this.#full.delete(this.#full.keys().next().value as string);
  }

  full(id: string): WireExchange | undefined {
    const exchange = this.#full.get(id);
    // A newer summary means the cached copy is stale (e.g. findings changed while it was cached).
    const current = this.summaries.get(id);
    if (!exchange || !current || signature(current) !== signature(exchange.summary)) return undefined;
    return exchange;
  }

  evict(ids: string[]): void {
    for (const id of ids) {
      this.summaries.delete(id);
      this.#full.delete(id);
    }
  }

  matches(summary: WireSummary): boolean {
    const { oauthOnly, findingsOnly, host, text } = this.filters;
    if (oauthOnly && summary.kind === 'other') return false;
    if (findingsOnly && summary.findings.length === 0) return false;
    if (host && !summary.host.toLowerCase().includes(host.toLowerCase())) return false;
    if (text) {
      const needle = text.toLowerCase();
      const hay = `${summary.method} ${summary.url} ${summary.kind} ${summary.status ?? ''} ${summary.flowId ?? ''} ${summary.clientId ?? ''} ${summary.findings.map((f) => `${f.code} ${f.title}`).join(' ')}`;
      if (!hay.toLowerCase().includes(needle)) return false;
    }
    return true;
  }

  /** Filtered rows in arrival order; a flow appears where its first exchange arrived. */
  rows(): Row[] {
    // Map order is arrival order (snapshots come oldest first, updates keep their place): no sort needed.
    const visible: WireSummary[] = [];
    for (const summary of this.summaries.values()) if (this.matches(summary)) visible.push(summary);
    const flows = new Map<string, WireSummary[]>();
    for (const summary of visible) {
      if (!summary.flowId) continue;
      const items = flows.get(summary.flowId) ?? [];
      items.push(summary);
      flows.set(summary.flowId, items);
    }
    const rows: Row[] = [];
    const placed = new Set<string>();
    for (const summary of visible) {
      const items = summary.flowId ? flows.get(summary.flowId) : undefined;
      if (!summary.flowId || !items || items.length < 2) {
        rows.push({ type: 'exchange', summary, inFlow: false });
        continue;
      }
      if (placed.has(summary.flowId)) continue;
      placed.add(summary.flowId);
      rows.push({ type: 'flow', flowId: summary.flowId, items });
      for (const item of items) rows.push({ type: 'exchange', summary: item, inFlow: true });
    }
    return rows;
  }

  /** All exchanges of a flow, for the timeline (unfiltered). */
  flow(flowId: string): WireSummary[] {
    return [...this.summaries.values()].filter((summary) => summary.flowId === flowId).sort((a, b) => a.seq - b.seq);
  }

  hosts(): string[] {
    return [...new Set([...this.summaries.values()].map((summary) => summary.host))].sort();
  }
}

function signature(summary: WireSummary): string {
  return `${summary.status ?? ''}|${summary.flowId ?? ''}|${summary.findings.map((f) => f.code).join(',')}`;
}
