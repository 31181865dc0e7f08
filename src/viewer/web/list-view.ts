/**
 * The exchange list: flow headers and exchange rows, virtual (only the visible window is in the
 * DOM, so 10,000 exchanges cost the same as 50), recomputed at most once per animation frame.
 * Row elements are cached per summary object and reused while scrolling.
 */
import type { Severity } from '../../model.js';
import type { WireSummary } from '../../server/wire.js';
import { h } from './dom.js';
import { clockTime, duration, KIND_LABELS, readable, shortId } from './format.js';
import type { Row, ViewerModel } from './model.js';

/** Every row, flow header or exchange, is exactly this tall (CSS --row-h), so the list can be virtual. */
export const ROW_HEIGHT = 24;
const OVERSCAN = 20;

export class ListView {
  #container: HTMLElement;
  #inner: HTMLElement;
  #model: ViewerModel;
  #onSelect: (id: string) => void;
  #rowCache = new WeakMap<WireSummary, HTMLElement>();
  #rows: Row[] = [];
  #order: string[] = [];
  #indexById = new Map<string, number>();
  #window = '';
  selectedId?: string;

  constructor(container: HTMLElement, model: ViewerModel, onSelect: (id: string) => void) {
    this.#container = container;
    this.#model = model;
    this.#onSelect = onSelect;
    this.#inner = h('div', { class: 'list-inner' });
    container.replaceChildren(this.#inner);
    container.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('[data-id]');
      if (row?.dataset.id) this.#onSelect(row.dataset.id);
    });
    container.addEventListener('scroll', () => this.#paint(false), { passive: true });
  }

  /** Ids in display order, for keyboard navigation. */
  get order(): readonly string[] {
    return this.#order;
  }

  /** Recompute the rows from the model; only the visible window touches the DOM. */
  render(): void {
    const c = this.#container;
    const stickToBottom = c.scrollHeight - c.scrollTop - c.clientHeight < ROW_HEIGHT * 1.5;
    this.#rows = this.#model.rows();
    this.#order = [];
    this.#indexById.clear();
    this.#rows.forEach((row, index) => {
      if (row.type !== 'exchange') return;
      this.#order.push(row.summary.id);
      this.#indexById.set(row.summary.id, index);
    });
    this.#inner.style.height = `${this.#rows.length * ROW_HEIGHT}px`;
    if (stickToBottom) c.scrollTop = c.scrollHeight;
    this.#paint(true);
  }

  select(id: string | undefined): void {
    this.selectedId = id;
    const index = id === undefined ? undefined : this.#indexById.get(id);
    if (index !== undefined) {
      const c = this.#container;
      const top = index * ROW_HEIGHT;
      if (top < c.scrollTop) c.scrollTop = top;
      else if (top + ROW_HEIGHT > c.scrollTop + c.clientHeight) c.scrollTop = top + ROW_HEIGHT - c.clientHeight;
    }
    this.#paint(true);
  }

  #paint(force: boolean): void {
    const c = this.#container;
    const first = Math.max(0, Math.floor(c.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.#rows.length, Math.ceil((c.scrollTop + c.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const key = `${first}:${last}`;
    if (!force && key === this.#window) return;
    this.#window = key;
    const nodes: HTMLElement[] = [];
    for (let index = first; index < last; index++) {
      const row = this.#rows[index]!;
      const el = row.type === 'flow' ? flowHeader(row) : this.#exchangeRow(row.summary, row.inFlow);
      if (row.type === 'exchange') el.classList.toggle('selected', row.summary.id === this.selectedId);
      el.style.top = `${index * ROW_HEIGHT}px`;
      nodes.push(el);
    }
    if (this.#rows.length === 0) nodes.push(emptyState(this.#model.summaries.size > 0));
    this.#inner.replaceChildren(...nodes);
  }

  #exchangeRow(summary: WireSummary, inFlow: boolean): HTMLElement {
    const cached = this.#rowCache.get(summary);
    if (cached) {
      cached.classList.toggle('in-flow', inFlow);
      return cached;
    }
    const failed = summary.error !== undefined || (summary.status ?? 0) >= 500;
    const el = h('div', { class: `row${inFlow ? ' in-flow' : ''}${summary.worst ? ` has-${summary.worst}` : ''}${failed ? ' failed' : ''}`, 'data-id': summary.id, role: 'option' },
      h('span', { class: 'c-time' }, clockTime(summary.startedAt)),
      kindBadge(summary.kind),
      h('span', { class: 'c-method' }, summary.method),
      h('span', { class: 'c-url', title: summary.url }, h('span', { class: 'host' }, summary.host), h('span', { class: 'path' }, readable(summary.path))),
      statusCell(summary),
      h('span', { class: 'c-dur' }, duration(summary.durationMs)),
      findingsCell(summary),
    );
    this.#rowCache.set(summary, el);
    return el;
  }
}

export function kindBadge(kind: string): HTMLElement {
  return h('span', { class: `badge kind kind-${kind}` }, KIND_LABELS[kind] ?? kind);
}

export function severityBadge(severity: Severity, text?: string): HTMLElement {
  return h('span', { class: `sev sev-${severity}` }, text ?? severity);
}

export function statusCell(summary: WireSummary): HTMLElement {
  if (summary.error) return h('span', { class: 'c-status st-err', title: summary.error.message }, summary.error.code);
  if (summary.status === undefined) return h('span', { class: 'c-status st-pending' }, '…');
  const cls = summary.status >= 500 ? 'st-5xx' : summary.status >= 400 ? 'st-4xx' : summary.status >= 300 ? 'st-3xx' : 'st-2xx';
  return h('span', { class: `c-status ${cls}`, title: summary.statusText ?? '' }, summary.status);
}

function findingsCell(summary: WireSummary): HTMLElement {
  if (summary.findings.length === 0) return h('span', { class: 'c-findings' });
  const primary = summary.findings.find((finding) => finding.primary) ?? summary.findings[0]!;
  const more = summary.findings.length > 1 ? ` +${summary.findings.length - 1}` : '';
  return h('span', { class: 'c-findings', title: summary.findings.map((f) => `${f.severity}: ${f.title}`).join('\n') },
    severityBadge(primary.severity, primary.code), more);
}

function flowHeader(row: Extract<Row, { type: 'flow' }>): HTMLElement {
  const first = row.items[0]!;
  const last = row.items[row.items.length - 1]!;
  const findings = row.items.reduce((n, item) => n + item.findings.length, 0);
  const worst = row.items.some((i) => i.worst === 'error') ? 'error' : row.items.some((i) => i.worst === 'warning') ? 'warning' : undefined;
  const span = (last.startedAt + (last.durationMs ?? 0)) - first.startedAt;
  return h('div', { class: 'flow-header' },
    h('span', { class: 'flow-label' }, 'flow'),
    h('span', { class: 'flow-id' }, shortId(row.flowId)),
    first.provider ? h('span', { class: 'flow-meta' }, first.provider) : null,
    first.clientId ? h('span', { class: 'flow-meta' }, `client ${first.clientId}`) : null,
    h('span', { class: 'flow-meta' }, `${row.items.length} exchanges · ${duration(span)}`),
    worst ? severityBadge(worst, `${findings} finding${findings === 1 ? '' : 's'}`) : null,
  );
}

function emptyState(filtered: boolean): HTMLElement {
  return h('div', { class: 'empty' },
    filtered
      ? h('p', {}, 'Nothing matches the filters.')
      : h('div', {}, h('p', { class: 'empty-title' }, 'Waiting for traffic…'),
        h('p', {}, 'Point your app at the proxy (see ', h('code', {}, 'oauth-lens env'), ') or run it under ', h('code', {}, 'oauth-lens run -- <cmd>'), '. Exchanges appear here as they happen.')),
  );
}
