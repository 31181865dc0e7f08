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
    socket.addEventListener('close', () => void this.#afterClose(opened));
  }

  async #afterClose(wasOpen: boolean): Promise<void> {
    // A refused upgrade looks like any close: ask the API whether our cookie is still valid. After a
    // restart with a new token it is not, and retrying cannot help until the new URL is opened.
    if (!wasOpen && (await this.#unauthorized())) {
      this.#onState('unauthorized');
      return;
    }
    this.#onState('reconnecting');
    setTimeout(() => this.connect(), this.#backoffMs);
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
  }

  async #unauthorized(): Promise<boolean> {
    try {
      return (await fetch('/api/exchanges?limit=1')).status === 401;
    } catch {
      return false; // server down: keep reconnecting
    }
  }
}
