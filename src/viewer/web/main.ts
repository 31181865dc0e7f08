/**
 * Viewer entry: wires the feed, the model, the list, the detail pane, filters and keyboard.
 * Rendering is coalesced to one pass per animation frame however fast events arrive.
 */
import type { FeedMessage, WireExchange } from '../../server/wire.js';
import { renderDetail } from './detail-view.js';
import { byId, h } from './dom.js';
import { FeedConnection, type ConnectionState } from './feed.js';
import { bytes, clockTime } from './format.js';
import { ListView } from './list-view.js';
import { ViewerModel } from './model.js';

const model = new ViewerModel();
const listEl = byId<HTMLElement>('list');
const detailEl = byId<HTMLElement>('detail');
const list = new ListView(listEl, model, (id) => select(id));
let paused = false;
let pendingWhilePaused = 0;
let frame = 0;
let detailToken = 0;

function scheduleRender(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (!paused) list.render();
    renderChrome();
  });
}

function onMessage(message: FeedMessage): void {
  switch (message.type) {
    case 'hello':
      byId('server-version').textContent = `v${message.version}`;
      break;
    case 'snapshot':
      model.applySnapshot(message.exchanges, message.alerts);
      if (message.alerts.length === 0) byId('alert').hidden = true;
      else showAlert(message.alerts[message.alerts.length - 1]);
      // After a resync or a restart the selected exchange may be gone.
      if (list.selectedId && !model.summaries.has(list.selectedId)) void select(undefined);
      byId('lag-note').hidden = true;
      break;
    case 'exchange':
      model.upsert(message.exchange);
      if (paused) pendingWhilePaused++;
      if (message.exchange.id === list.selectedId) void showDetail(message.exchange.id, true);
      break;
    case 'evicted':
      model.evict(message.ids);
      break;
    case 'alert':
      model.alerts.push(message.alert);
      showAlert(message.alert);
      break;
    case 'stats':
      model.stats = message.stats;
      break;
    case 'lagged':
      byId('lag-note').hidden = false;
      break;
  }
  scheduleRender();
}

function onState(state: ConnectionState): void {
  const el = byId('conn');
  el.className = `conn conn-${state}`;
  el.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', unauthorized: 'token expired — reopen the URL from oauth-lens start' }[state];
}

function renderChrome(): void {
  // Counted locally so they move with every event; the server's periodic stats add memory use.
  let oauth = 0;
  let withFindings = 0;
  for (const summary of model.summaries.values()) {
    if (summary.kind !== 'other') oauth++;
    if (summary.findings.length) withFindings++;
  }
  const memory = model.stats ? ` · ${bytes(model.stats.storeBytes)} held` : '';
  byId('stats').textContent = `${model.summaries.size} exchanges · ${oauth} OAuth · ${withFindings} with findings${memory}`;
  const pause = byId<HTMLButtonElement>('pause');
  pause.textContent = paused ? (pendingWhilePaused ? `Resume (${pendingWhilePaused} new)` : 'Resume') : 'Pause';
  pause.classList.toggle('active', paused);
  document.body.classList.toggle('paused', paused);
  const hostList = byId<HTMLDataListElement>('hosts');
  const hosts = model.hosts();
  if (hostList.childElementCount !== hosts.length) hostList.replaceChildren(...hosts.map((host) => h('option', { value: host })));
}

function showAlert(alert: { message: string; at: number } | undefined): void {
  const banner = byId('alert');
  if (!alert) return;
  byId('alert-text').textContent = `${clockTime(alert.at)} — ${alert.message}`;
  banner.hidden = false;
}

async function select(id: string | undefined): Promise<void> {
  list.select(id);
  if (!id) {
    detailEl.replaceChildren(h('div', { class: 'empty' }, h('p', {}, 'Select an exchange to see its findings, headers and bodies.'), h('p', { class: 'muted' }, 'j / k or ↑ / ↓ to move · / to search · p to pause')));
    return;
  }
  await showDetail(id, false);
}

async function showDetail(id: string, keepScroll: boolean): Promise<void> {
  const token = ++detailToken;
  let exchange = model.full(id);
  if (!exchange) {
    const res = await fetch(`/api/exchanges/${encodeURIComponent(id)}`);
    if (token !== detailToken) return;
    if (!res.ok) {
      detailEl.replaceChildren(h('div', { class: 'empty' }, h('p', {}, res.status === 404 ? 'This exchange was evicted from memory.' : `Could not load it (HTTP ${res.status}).`)));
      return;
    }
    exchange = (await res.json()) as WireExchange;
    model.cacheFull(exchange);
  }
  if (token !== detailToken) return;
  const scroll = detailEl.scrollTop;
  const flow = exchange.summary.flowId ? model.flow(exchange.summary.flowId) : [];
  detailEl.replaceChildren(renderDetail(exchange, flow, { select: (next) => void select(next), copyCurl }));
  detailEl.scrollTop = keepScroll ? scroll : 0;
}

async function copyCurl(id: string): Promise<void> {
  const res = await fetch(`/api/exchanges/${encodeURIComponent(id)}/curl`);
  if (!res.ok) {
    toast(res.status === 404 ? 'curl export is not available in this build' : `curl export failed (HTTP ${res.status})`);
    return;
  }
  const text = await res.text();
  try {
    await navigator.clipboard.writeText(text);
    toast('curl command copied — secrets are $PLACEHOLDERS');
  } catch {
    // Clipboard refused (no focus or permission): show it so it can be copied by hand.
    const pre = h('pre', { class: 'code curl-out' }, text);
    detailEl.querySelector('.detail-head')?.append(pre);
    toast('Clipboard unavailable — command shown above');
  }
}

let toastTimer = 0;
function toast(text: string): void {
  const el = byId('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { el.hidden = true; }, 2500);
}

function togglePause(): void {
  paused = !paused;
  if (!paused) pendingWhilePaused = 0;
  scheduleRender();
}

function move(step: number): void {
  const order = list.order;
  if (order.length === 0) return;
  const index = list.selectedId ? order.indexOf(list.selectedId) : -1;
  const last = order.length - 1;
  const next = !Number.isFinite(step) ? (step > 0 ? last : 0)
    : index < 0 ? (step > 0 ? 0 : last)
    : Math.min(last, Math.max(0, index + step));
  void select(order[next]);
}

function harHref(): string {
  const params = new URLSearchParams();
  if (model.filters.oauthOnly) params.set('oauth', '1');
  if (model.filters.findingsOnly) params.set('findings', '1');
  if (model.filters.host) params.set('host', model.filters.host);
  if (model.filters.text) params.set('q', model.filters.text);
  const query = params.toString();
  return `/api/har${query ? `?${query}` : ''}`;
}

function wireControls(): void {
  const oauthOnly = byId<HTMLInputElement>('f-oauth');
  const findingsOnly = byId<HTMLInputElement>('f-findings');
  const host = byId<HTMLInputElement>('f-host');
  const text = byId<HTMLInputElement>('f-text');
  const exportLink = byId<HTMLAnchorElement>('export-har');
  const update = () => {
    model.filters = { oauthOnly: oauthOnly.checked, findingsOnly: findingsOnly.checked, host: host.value.trim(), text: text.value.trim() };
    exportLink.href = harHref();
    list.render();
    renderChrome();
  };
  for (const input of [oauthOnly, findingsOnly]) input.addEventListener('change', update);
  for (const input of [host, text]) input.addEventListener('input', update);
  exportLink.href = harHref();
  byId('pause').addEventListener('click', togglePause);
  byId('alert-dismiss').addEventListener('click', () => { byId('alert').hidden = true; });

  document.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    if (target.tagName === 'INPUT') {
      if (event.key === 'Escape') target.blur();
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') { target.blur(); move(event.key === 'ArrowDown' ? 1 : -1); event.preventDefault(); }
      return;
    }
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    switch (event.key) {
      case 'j': case 'ArrowDown': move(1); break;
      case 'k': case 'ArrowUp': move(-1); break;
      case 'g': case 'Home': move(-Infinity); break;
      case 'G': case 'End': move(Infinity); break;
      case '/': text.focus(); text.select(); break;
      case 'p': case ' ': togglePause(); break;
      case 'o': oauthOnly.checked = !oauthOnly.checked; update(); break;
      case 'f': findingsOnly.checked = !findingsOnly.checked; update(); break;
      case 'c': if (list.selectedId) void copyCurl(list.selectedId); break;
      case 'Escape': void select(undefined); break;
      default: return;
    }
    event.preventDefault();
  });
}

wireControls();
void select(undefined);
list.render();
new FeedConnection(onMessage, onState).connect();
