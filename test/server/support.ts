/**
 * Test-only builders for realistic redacted exchanges, and a raw HTTP helper that can send any
 * Host/Origin header (fetch forbids setting Host). Casting plain objects to `Redacted<Exchange>`
 * is allowed here only: production values come from src/oauth/redact.ts.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import type { Exchange, ExchangeKind, Finding, Redacted } from '../../src/model.js';
import type { ExchangeStore } from '../../src/store/store.js';

let counter = 0;

/** How src/oauth/redact.ts writes a redacted client secret (oauth-rules.md §4.2). */
export const SECRET_MARKER = '[REDACTED client_secret len=24 fp=9b41c07e]';

export interface ExchangeSpec {
  id?: string;
  kind?: ExchangeKind;
  method?: string;
  url?: string;
  status?: number;
  flowId?: string;
  findings?: Finding[];
  start?: number;
  durationMs?: number;
  error?: Exchange['error'];
  requestForm?: Array<[string, string]>;
  responseJson?: unknown;
  responseText?: string;
}

export function makeFinding(overrides: Partial<Finding> = {}): Finding {
  return {
    code: 'redirect_uri.trailing_slash',
    severity: 'error',
    title: 'redirect_uri differs from the registered one by a trailing slash',
    detail: 'The token request sent https://app.example.com/callback/ but the client is registered with https://app.example.com/callback. Providers compare redirect URIs as exact strings.',
    fix: 'Remove the trailing slash from REDIRECT_URI so it matches the registration exactly.',
    evidence: { sent: 'https://app.example.com/callback/', registered: 'https://app.example.com/callback' },
    confidence: 'high',
    exchangeIds: [],
    primary: true,
    ...overrides,
  };
}

export function makeExchange(spec: ExchangeSpec = {}, store?: ExchangeStore): Redacted<Exchange> {
  counter++;
  const id = spec.id ?? `ex-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  const kind = spec.kind ?? 'token';
  const start = spec.start ?? Date.now();
  const form = spec.requestForm ?? [
    ['grant_type', 'authorization_code'],
    ['code', '[REDACTED code len=43 fp=3f2a9c1d]'],
    ['redirect_uri', 'https://app.example.com/callback/'],
    ['client_id', 'web-app'],
    ['client_secret', SECRET_MARKER],
  ];
  const responseJson = spec.responseJson ?? { error: 'invalid_grant', error_description: 'redirect_uri mismatch' };
  const responseText = spec.responseText ?? JSON.stringify(responseJson);
  const exchange: Exchange = {
    id,
    seq: store ? store.nextSeq() : counter,
    timings: { start, responseHeaders: start + (spec.durationMs ?? 42) - 2, end: start + (spec.durationMs ?? 42) },
    clientAddress: '127.0.0.1',
    request: {
      method: spec.method ?? 'POST',
      url: spec.url ?? 'https://idp.example.com/oauth/token',
      httpVersion: 'HTTP/1.1',
      headers: [['Host', 'idp.example.com'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', '[REDACTED authorization len=38 fp=77e0b512]']],
      body: {
        size: 180,
        truncated: false,
        mimeType: 'application/x-www-form-urlencoded',
        text: form.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&'),
        form,
      },
    },
    oauth: {
      kind,
      findings: (spec.findings ?? []).map((finding) => ({ ...finding, exchangeIds: [id] })),
      ...(spec.flowId ? { flowId: spec.flowId } : {}),
      ...(kind === 'token' ? { grantType: 'authorization_code', clientId: 'web-app', provider: 'idp.example.com' } : {}),
    },
  };
  if (spec.error) exchange.error = spec.error;
  else {
    exchange.response = {
      status: spec.status ?? 400,
      statusText: 'Bad Request',
      httpVersion: 'HTTP/1.1',
      headers: [['Content-Type', 'application/json'], ['Cache-Control', 'no-store']],
      body: { size: responseText.length, truncated: false, mimeType: 'application/json', text: responseText, json: responseJson },
    };
  }
  return exchange as Redacted<Exchange>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET with full control over headers, including Host. */
export function rawGet(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path, method: 'GET', headers: { Host: base.host, ...headers }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Collects feed messages; `next(type)` waits for the next message of that type. */
export class FeedRecorder {
  readonly ws: WebSocket;
  readonly messages: Array<{ type: string } & Record<string, unknown>> = [];
  #waiters: Array<{ match: (m: { type: string } & Record<string, unknown>) => boolean; resolve: (m: never) => void; from: number }> = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string } & Record<string, unknown>;
      this.messages.push(message);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve(message as never);
        return false;
      });
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Resolves with the first message (already received or future) matching. */
  waitFor<T = Record<string, unknown>>(match: (m: { type: string } & Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<T> {
    const existing = this.messages.find(match);
    if (existing) return Promise.resolve(existing as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for feed message')), timeoutMs);
      this.#waiters.push({ match, from: this.messages.length, resolve: ((m: T) => { clearTimeout(timer); resolve(m); }) as (m: never) => void });
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Error message of a refused WebSocket upgrade (ws reports "Unexpected server response: 403"). */
export function upgradeRefusal(url: string, options: WebSocket.ClientOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('open', () => { ws.terminate(); resolve('opened'); });
    ws.on('error', (err) => resolve(err.message));
  });
}
