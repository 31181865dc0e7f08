/**
 * The one wire format of the admin API and the feed (like mitmweb's flow_to_json): a compact
 * summary every list needs, and the full redacted exchange for detail views. Both are computed
 * once per stored object (WeakMap cache) and shared by every client, REST or WebSocket.
 * Everything here is derived from `Redacted<Exchange>`, so nothing can carry a raw secret.
 * The cache relies on exchanges being immutable: the engine publishes a changed exchange as a new
 * object (same id), never by mutating the stored one.
 */
import type { Exchange, ExchangeKind, Finding, Redacted, Severity, TransportError } from '../model.js';
import type { Alert } from '../store/store.js';

/** A finding as lists show it: everything but the exchange ids (the summary says which exchange). */
export type WireFinding = Omit<Finding, 'exchangeIds'>;

export interface WireSummary {
  id: string;
  seq: number;
  kind: ExchangeKind;
  flowId?: string;
  method: string;
  url: string;
  host: string;
  path: string;
  /** Epoch ms when the request started. */
  startedAt: number;
  durationMs?: number;
  status?: number;
  statusText?: string;
  error?: TransportError;
  grantType?: string;
  provider?: string;
  clientId?: string;
  /** Highest severity among the findings, if any. */
  worst?: Severity;
  findings: WireFinding[];
}

/** The full redacted exchange plus its summary, as `/api/exchanges/:id` and feed `exchange` send it. */
export type WireExchange = Redacted<Exchange> & { summary: WireSummary };

export interface FeedStats {
  exchanges: number;
  oauth: number;
  withFindings: number;
  errors: number;
  failures: number;
  storeBytes: number;
  clients: number;
}

export type FeedMessage =
  | { type: 'hello'; version: string; serverTime: number }
  | { type: 'snapshot'; exchanges: WireSummary[]; total: number; alerts: Alert[] }
  | { type: 'exchange'; exchange: WireExchange; change: 'added' | 'updated' }
  | { type: 'evicted'; ids: string[] }
  | { type: 'alert'; alert: Alert }
  | { type: 'stats'; stats: FeedStats; serverTime: number }
  | { type: 'lagged'; reason: string; resync: boolean };

const SEVERITY_RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

const summaries = new WeakMap<object, WireSummary>();
const wires = new WeakMap<object, WireExchange>();

export function toSummary(exchange: Redacted<Exchange>): WireSummary {
  const cached = summaries.get(exchange);
  if (cached) return cached;
  const summary = buildSummary(exchange);
  summaries.set(exchange, summary);
  return summary;
}

export function toWire(exchange: Redacted<Exchange>): WireExchange {
  const cached = wires.get(exchange);
  if (cached) return cached;
  const wire = { ...exchange, summary: toSummary(exchange) } as WireExchange;
  wires.set(exchange, wire);
  return wire;
}

export function worstSeverity(findings: ReadonlyArray<{ severity: Severity }>): Severity | undefined {
  let worst: Severity | undefined;
  for (const finding of findings) {
    if (!worst || SEVERITY_RANK[finding.severity] > SEVERITY_RANK[worst]) worst = finding.severity;
  }
  return worst;
}

function buildSummary(exchange: Exchange): WireSummary {
  const { host, path } = splitUrl(exchange.request.url);
  const end = exchange.timings.end ?? exchange.timings.responseHeaders;
  const findings = exchange.oauth.findings.map(toWireFinding);
  const summary: WireSummary = {
    id: exchange.id,
    seq: exchange.seq,
    kind: exchange.oauth.kind,
    method: exchange.request.method,
    url: exchange.request.url,
    host,
    path,
    startedAt: exchange.timings.start,
    findings,
  };
  if (exchange.oauth.flowId !== undefined) summary.flowId = exchange.oauth.flowId;
  if (end !== undefined) summary.durationMs = Math.max(0, Math.round(end - exchange.timings.start));
  if (exchange.response) {
    summary.status = exchange.response.status;
    summary.statusText = exchange.response.statusText;
  }
  if (exchange.error) summary.error = exchange.error;
  if (exchange.oauth.grantType !== undefined) summary.grantType = exchange.oauth.grantType;
  if (exchange.oauth.provider !== undefined) summary.provider = exchange.oauth.provider;
  if (exchange.oauth.clientId !== undefined) summary.clientId = exchange.oauth.clientId;
  const worst = worstSeverity(findings);
  if (worst) summary.worst = worst;
  return summary;
}

function toWireFinding(finding: Finding): WireFinding {
  const { exchangeIds: _ids, ...rest } = finding;
  return rest;
}

function splitUrl(raw: string): { host: string; path: string } {
  try {
    const url = new URL(raw);
    return { host: url.host, path: `${url.pathname}${url.search}` };
  } catch {
    return { host: '', path: raw };
  }
}
