/**
 * The detail pane for one exchange: findings first (what is wrong and how to fix it), then the
 * flow timeline, request and response with decoded redacted bodies, decoded JWTs, TLS and errors.
 */
import type { BodyView, DecodedJwt, Finding, RawHeaders } from '../../model.js';
import type { WireExchange, WireSummary } from '../../server/wire.js';
import { h } from './dom.js';
import { bytes, duration, prettyJson, queryParams, readable } from './format.js';
import { kindBadge, severityBadge, statusCell } from './list-view.js';

export interface DetailActions {
  select(id: string): void;
  copyCurl(id: string): void;
}

export function renderDetail(exchange: WireExchange, flow: WireSummary[], actions: DetailActions): HTMLElement {
  const s = exchange.summary;
  const oauth = exchange.oauth;
  return h('article', { class: 'detail-body' },
    h('header', { class: 'detail-head' },
      h('div', { class: 'detail-title' }, kindBadge(s.kind), h('span', { class: 'c-method' }, s.method), statusCell(s), h('span', { class: 'muted' }, duration(s.durationMs))),
      h('div', { class: 'detail-url mono' }, s.url),
      h('div', { class: 'detail-meta' },
        meta('id', exchange.id), s.flowId ? meta('flow', s.flowId) : null, oauth.grantType ? meta('grant', oauth.grantType) : null,
        oauth.clientId ? meta('client', oauth.clientId) : null, oauth.provider ? meta('provider', oauth.provider) : null,
        exchange.clientAddress ? meta('from', exchange.clientAddress) : null,
      ),
      h('div', { class: 'detail-actions' },
        h('button', { type: 'button', id: 'copy-curl', onclick: () => actions.copyCurl(exchange.id) }, 'Copy as curl'),
      ),
    ),
    oauth.findings.length ? section(`Findings (${oauth.findings.length})`, h('div', { class: 'findings' }, ...sortFindings(oauth.findings).map(findingCard))) : null,
    exchange.error ? section('Transport error', h('div', { class: 'finding sev-border-error' }, h('strong', {}, exchange.error.code), ' ', exchange.error.message, exchange.error.nodeCode ? h('span', { class: 'muted' }, ` (${exchange.error.nodeCode})`) : null)) : null,
    oauth.providerError ? section('Provider error', h('pre', { class: 'code' }, prettyJson(oauth.providerError))) : null,
    s.flowId && flow.length > 1 ? section(`Flow timeline · ${flow.length} exchanges`, timeline(flow, exchange.id, actions)) : null,
    section('Request', queryView(exchange.request.url), headersTable(exchange.request.headers), bodyView(exchange.request.body, 'request')),
    exchange.response
      ? section(`Response ${exchange.response.status} ${exchange.response.statusText}`, headersTable(exchange.response.headers), bodyView(exchange.response.body, 'response'))
      : null,
    oauth.jwts?.length ? section(`JWTs (${oauth.jwts.length})`, ...oauth.jwts.map(jwtView)) : null,
    exchange.tls ? section('TLS', kvTable(Object.entries(exchange.tls).map(([k, v]) => [k, typeof v === 'object' ? prettyJson(v) : String(v)]))) : null,
  );
}

function meta(label: string, value: string): HTMLElement {
  return h('span', { class: 'meta' }, h('span', { class: 'meta-k' }, label), h('span', { class: 'meta-v mono' }, value));
}

function section(title: string, ...content: Array<HTMLElement | null>): HTMLElement {
  return h('section', { class: 'detail-section' }, h('h3', {}, title), ...content);
}

const RANK = { error: 0, warning: 1, info: 2 } as const;
function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => Number(b.primary) - Number(a.primary) || RANK[a.severity] - RANK[b.severity]);
}

function findingCard(finding: Finding): HTMLElement {
  return h('div', { class: `finding sev-border-${finding.severity}` },
    h('div', { class: 'finding-head' },
      severityBadge(finding.severity), h('span', { class: 'finding-code mono' }, finding.code),
      finding.primary ? h('span', { class: 'tag' }, 'primary') : null,
      h('span', { class: 'muted' }, `${finding.confidence} confidence`)),
    h('div', { class: 'finding-title' }, finding.title),
    h('p', { class: 'finding-detail' }, finding.detail),
    finding.fix ? h('div', { class: 'finding-fix' }, h('strong', {}, 'Fix: '), finding.fix) : null,
    finding.evidence && Object.keys(finding.evidence).length
      ? h('div', { class: 'evidence' }, h('div', { class: 'evidence-title' }, 'Evidence'),
        kvTable(Object.entries(finding.evidence).map(([k, v]) => [k, typeof v === 'string' ? v : prettyJson(v)])))
      : null,
  );
}

function timeline(flow: WireSummary[], currentId: string, actions: DetailActions): HTMLElement {
  const t0 = flow[0]!.startedAt;
  return h('ol', { class: 'timeline' }, ...flow.map((item) =>
    h('li', { class: item.id === currentId ? 'current' : '', onclick: () => actions.select(item.id) },
      h('span', { class: 'tl-dt mono' }, `+${duration(item.startedAt - t0)}`),
      kindBadge(item.kind), h('span', { class: 'c-method' }, item.method), h('span', { class: 'tl-path mono' }, readable(item.path)),
      statusCell(item), item.worst ? severityBadge(item.worst, `${item.findings.length}`) : null)));
}

function queryView(url: string): HTMLElement | null {
  const params = queryParams(url);
  if (params.length === 0) return null;
  return h('div', { class: 'query' }, h('div', { class: 'body-head' }, h('span', { class: 'body-label' }, 'query')), kvTable(params, 'query-params'));
}

function headersTable(headers: RawHeaders): HTMLElement {
  if (headers.length === 0) return h('p', { class: 'muted' }, 'No headers');
  return h('div', {}, h('div', { class: 'body-head' }, h('span', { class: 'body-label' }, `headers (${headers.length})`)), kvTable(headers, 'headers'));
}

function kvTable(pairs: Array<[string, string]>, cls = 'kv'): HTMLElement {
  return h('table', { class: `kv ${cls}` }, h('tbody', {}, ...pairs.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'mono' }, v)))));
}

function bodyView(body: BodyView, label: string): HTMLElement {
  const info = [body.mimeType, bytes(body.size), body.encoding, body.truncated ? 'truncated' : undefined].filter(Boolean).join(' · ');
  const head = h('div', { class: 'body-head' }, h('span', { class: 'body-label' }, `${label} body`), h('span', { class: 'muted' }, info));
  let content: HTMLElement;
  if (body.form) content = kvTable(body.form, 'form');
  else if (body.json !== undefined) content = h('pre', { class: 'code' }, prettyJson(body.json));
  else if (body.text) content = h('pre', { class: 'code' }, body.text);
  else content = h('p', { class: 'muted' }, body.size === 0 ? 'Empty' : 'Binary body not shown');
  return h('div', { class: 'body' }, head, body.decodeError ? h('p', { class: 'warn' }, `Could not decode: ${body.decodeError}`) : null, content);
}

function jwtView(jwt: DecodedJwt): HTMLElement {
  return h('div', { class: 'jwt' },
    h('div', { class: 'body-head' }, h('span', { class: 'body-label mono' }, jwt.location), jwt.error ? h('span', { class: 'warn' }, jwt.error) : null),
    h('div', { class: 'jwt-parts' },
      h('div', {}, h('div', { class: 'muted' }, 'header'), h('pre', { class: 'code' }, prettyJson(jwt.header))),
      h('div', {}, h('div', { class: 'muted' }, 'claims'), h('pre', { class: 'code' }, prettyJson(jwt.claims)))));
}
