/** The authenticated REST routes: exchange summaries, one full exchange, HAR and curl exports. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Exchange, Redacted } from '../model.js';
import type { ExchangeStore } from '../store/store.js';
import { send, sendError, sendJson } from './http-util.js';
import { toSummary, toWire } from './wire.js';

/** The HAR helpers, injected so the server does not depend on how they are built. */
export interface ExportHelpers {
  exchangesToHar?: (exchanges: Redacted<Exchange>[], options?: { salt?: Buffer }) => object;
  exchangeToCurl?: (exchange: Redacted<Exchange>) => string;
}

export interface ExchangeFilter {
  kind?: string;
  flow?: string;
  host?: string;
  findingsOnly?: boolean;
  oauthOnly?: boolean;
  text?: string;
  sinceSeq?: number;
}

export function filterFromQuery(params: URLSearchParams): ExchangeFilter {
  const filter: ExchangeFilter = {};
  const flag = (name: string) => ['1', 'true', 'yes'].includes(params.get(name) ?? '');
  if (params.get('kind')) filter.kind = params.get('kind')!;
  if (params.get('flow')) filter.flow = params.get('flow')!;
  if (params.get('host')) filter.host = params.get('host')!.toLowerCase();
  if (params.get('q')) filter.text = params.get('q')!.toLowerCase();
  if (flag('findings')) filter.findingsOnly = true;
  if (flag('oauth')) filter.oauthOnly = true;
  const since = Number(params.get('since'));
  if (params.has('since') && Number.isFinite(since)) filter.sinceSeq = since;
  return filter;
}

export function matchesFilter(exchange: Redacted<Exchange>, filter: ExchangeFilter): boolean {
  const summary = toSummary(exchange);
  if (filter.kind && summary.kind !== filter.kind) return false;
  if (filter.flow && summary.flowId !== filter.flow) return false;
  if (filter.host && !summary.host.toLowerCase().includes(filter.host)) return false;
  if (filter.findingsOnly && summary.findings.length === 0) return false;
  if (filter.oauthOnly && summary.kind === 'other') return false;
  if (filter.sinceSeq !== undefined && summary.seq <= filter.sinceSeq) return false;
  if (filter.text) {
    const haystack = [summary.method, summary.url, summary.kind, summary.status ?? '', summary.flowId ?? '',
      ...summary.findings.flatMap((finding) => [finding.code, finding.title])].join(' ').toLowerCase();
    if (!haystack.includes(filter.text)) return false;
  }
  return true;
}

export function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: { store: ExchangeStore; exports: ExportHelpers },
): void {
  const { store, exports } = deps;
  const path = url.pathname;
  if (path === '/api/exchanges') {
    const filter = filterFromQuery(url.searchParams);
    const limit = clampLimit(url.searchParams.get('limit'));
    const matching = store.list().filter((exchange) => matchesFilter(exchange, filter));
    const page = matching.slice(Math.max(0, matching.length - limit));
    sendJson(res, 200, { exchanges: page.map(toSummary), total: matching.length });
    return;
  }
  if (path === '/api/har' && exports.exchangesToHar) {
    const filter = filterFromQuery(url.searchParams);
    const har = exports.exchangesToHar(store.list().filter((exchange) => matchesFilter(exchange, filter)));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    send(res, 200, JSON.stringify(har, null, 2), 'application/json; charset=utf-8', {
      'Content-Disposition': `attachment; filename="oauth-lens-${stamp}.har"`,
    });
    return;
  }
  const match = /^\/api\/exchanges\/([^/]+)(\/curl)?$/.exec(path);
  if (match) {
    const exchange = store.get(decodeURIComponent(match[1]!));
    if (!exchange) {
      sendError(res, 404, 'not_found', 'No such exchange (it may have been evicted)');
      return;
    }
    if (!match[2]) {
      sendJson(res, 200, toWire(exchange));
      return;
    }
    if (exports.exchangeToCurl) {
      let command: string;
      try {
        command = exports.exchangeToCurl(exchange);
      } catch (err) {
        // A value no shell argument can carry (a NUL byte) is the exchange's fault, not the server's.
        // The message stays generic: the refused value came from the request.
        if (!isUnrepresentable(err)) throw err;
        sendError(res, 422, 'curl_unrepresentable', 'This exchange cannot be written as a curl command: a value holds a NUL byte or another character no shell argument can carry.');
        return;
      }
      send(res, 200, command, 'text/plain; charset=utf-8');
      return;
    }
  }
  void req;
  sendError(res, 404, 'not_found', 'Unknown API route');
}

/** Matched by stable code rather than class, so the server does not import src/har. */
function isUnrepresentable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'OAL_ERR_CURL_UNREPRESENTABLE';
}

function clampLimit(raw: string | null): number {
  const limit = Number(raw ?? 1000);
  if (!Number.isFinite(limit) || limit <= 0) return 1000;
  return Math.min(Math.floor(limit), 100_000);
}
