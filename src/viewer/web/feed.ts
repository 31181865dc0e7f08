/**
 * Browser side of the live feed: connects to /api/feed on our own origin (the HttpOnly cookie
 * authenticates the upgrade), hands each message on, and reconnects with capped backoff.
 */
import type { FeedMessage } from '../../server/wire.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

export class FeedConnection {
  #onMessage: (message: FeedMessage) => void;
  #onState: (state: ConnectionState) => void;
  #backoffMs = 500;
  #socket?: WebSocket;

  constructor(onMessage: (message: FeedMessage) => void, onState: (state: ConnectionState) => void) {
    this.#onMessage = onMessage;
    this.#onState = onState;
  }

  connect(): void {
    this.#onState(this.#socket ? 'reconnecting' : 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/api/feed`);
    this.#socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.#backoffMs = 500;
      this.#onState('live');
    });
    socket.addEventListener('message', (event) => {
      try {
        this.#onMessage(JSON.parse(String(event.data)) as FeedMessage);
      } catch {
        // a malformed frame is ignored; the next snapshot repairs the view
      }
    });
    socket.addEventListener('close', () => {
      if (!opened) void this.#checkAuth();
      this.#onState('reconnecting');
      setTimeout(() => this.connect(), this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
    });
  }

  /** A refused upgrade looks like any close; ask the API whether our cookie is still valid. */
  async #checkAuth(): Promise<void> {
    try {
      const res = await fetch('/api/exchanges?limit=1');
      if (res.status === 401) this.#onState('unauthorized');
    } catch {
      // server down: keep reconnecting
    }
  }
}
