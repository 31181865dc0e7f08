/** Placeholder until the pipeline lands (same public API). */
import type { CapturedExchange } from '../capture/types.js';
import type { Exchange, Redacted } from '../model.js';
import type { LensConfig } from './config.js';

export interface EngineOptions {
  fingerprintKey: Buffer;
  config?: LensConfig;
  logger?: { warn(obj: object, msg: string): void };
}

export class OAuthEngine {
  constructor(_options: EngineOptions) {}

  /** Runs the whole pipeline on one captured exchange. Never throws. */
  ingest(captured: CapturedExchange, seq: number): { exchange: Redacted<Exchange>; updated: Redacted<Exchange>[] } {
    const empty = { size: 0, truncated: false };
    const exchange = {
      id: captured.id, seq, timings: captured.timings,
      request: { method: captured.request.method, url: '', httpVersion: captured.request.httpVersion, headers: [], body: empty },
      oauth: { kind: 'other', findings: [] },
    } as unknown as Redacted<Exchange>;
    return { exchange, updated: [] };
  }
}
