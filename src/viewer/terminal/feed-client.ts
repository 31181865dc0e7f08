/**
 * Node side of the live feed for `watch`: connects with the bearer token, hands messages on, and
 * reconnects with capped exponential backoff whenever the proxy goes away. The target is resolved
 * again before every attempt, so a restarted proxy (new port or token in the state file) is found.
 */
import WebSocket from 'ws';
import type { FeedMessage } from '../../server/wire.js';

export interface FeedTarget {
  /** Admin base URL, e.g. http://127.0.0.1:8081. */
  url: string;
  token: string;
}

export type WatchState =
  | { state: 'connected'; url: string }
  | { state: 'disconnected'; reason: string; retryInMs: number }
  | { state: 'no-target'; retryInMs: number };

export interface FeedClientOptions {
  resolveTarget: () => FeedTarget | undefined;
  onMessage: (message: FeedMessage) => void;
  onState: (state: WatchState) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class TerminalFeedClient {
  #options: FeedClientOptions;
  #backoff: number;
  #socket?: WebSocket;
  #timer?: NodeJS.Timeout;
  #stopped = false;

  constructor(options: FeedClientOptions) {
    this.#options = options;
    this.#backoff = options.minBackoffMs ?? 250;
  }

  start(): void {
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.terminate();
  }

  #connect(): void {
    if (this.#stopped) return;
    const target = this.#options.resolveTarget();
    if (!target) {
      this.#options.onState({ state: 'no-target', retryInMs: this.#backoff });
      this.#retry();
      return;
    }
    const feedUrl = new URL('/api/feed', target.url);
    feedUrl.protocol = feedUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(feedUrl, { headers: { Authorization: `Bearer ${target.token}` }, handshakeTimeout: 5000 });
    this.#socket = socket;
    let failure = 'connection closed';
    socket.on('open', () => {
      this.#backoff = this.#options.minBackoffMs ?? 250;
      this.#options.onState({ state: 'connected', url: target.url });
    });
    socket.on('message', (data) => {
      try {
        this.#options.onMessage(JSON.parse(String(data)) as FeedMessage);
      } catch {
        // ignore a malformed frame
      }
    });
    socket.on('unexpected-response', (_req, res) => {
      failure = res.statusCode === 401 ? 'token rejected (401)' : `server answered ${res.statusCode}`;
      socket.terminate();
    });
    socket.on('error', (err) => { failure = describe(err); });
    socket.on('close', () => {
      if (this.#stopped) return;
      this.#options.onState({ state: 'disconnected', reason: failure, retryInMs: this.#backoff });
      this.#retry();
    });
  }

  #retry(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, this.#options.maxBackoffMs ?? 5000);
  }
}

function describe(err: Error & { code?: string }): string {
  if (err.code === 'ECONNREFUSED') return 'proxy not running (connection refused)';
  return err.code ?? err.message;
}
