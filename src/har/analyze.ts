/**
 * Offline analysis of a foreign HAR: entries → `CapturedExchange` (from-har.ts) → the same
 * `OAuthEngine` as live capture, under a fresh random fingerprint key per run (so nothing from one
 * run can be matched with another), → flows, findings and a redacted HAR. Raw secrets from the
 * input exist only between `harToCaptured` and `engine.ingest`.
 */
import { randomBytes } from 'node:crypto';
import type { Exchange, Finding, Redacted } from '../model.js';
import type { LensConfig } from '../oauth/config.js';
import { OAuthEngine } from '../oauth/engine.js';
import { withoutFindings } from '../oauth/redact.js';
import { harToCaptured, type SkippedEntry } from './from-har.js';
import { exchangesToHar } from './har.js';
import type { Har } from './types.js';

export interface AnalyzeOptions {
  config?: LensConfig;
  /** Fingerprint key for this run; random when absent. Tests pass one to compare runs. */
  fingerprintKey?: Buffer;
  /** Salt for the redacted copy's fingerprints; random when absent. */
  salt?: Buffer;
  creatorVersion?: string;
  logger?: { warn(obj: object, msg: string): void };
}

export interface FlowSummary {
  flowId: string;
  exchangeIds: string[];
  clientId?: string;
  provider?: string;
  findings: number;
  errors: number;
}

export interface AttachedFinding {
  exchangeId: string;
  finding: Finding;
}

/**
 * Findings that compare a secret's real bytes with something public (the PKCE verifier against
 * the challenge). In an already-redacted input the value is a stand-in, so they cannot be judged.
 */
const NEEDS_REAL_VALUES = new Set(['pkce.verifier_mismatch']);

export interface HarAnalysis {
  creator?: string;
  /** The input was already redacted (markers were replaced by stand-ins before analysis). */
  redactedInput: boolean;
  /** Findings left out because they need the real secret values (only for redacted input). */
  suppressed: AttachedFinding[];
  /** Entries in the input file. */
  entries: number;
  skipped: SkippedEntry[];
  /** Redacted exchanges, capture order, with their final findings. */
  exchanges: Redacted<Exchange>[];
  flows: FlowSummary[];
  findings: AttachedFinding[];
  /** The redacted copy (fingerprints re-keyed under a per-file salt). */
  har: Har;
}

export function analyzeHar(input: unknown, options: AnalyzeOptions = {}): HarAnalysis {
  const imported = harToCaptured(input);
  const engine = new OAuthEngine({
    fingerprintKey: options.fingerprintKey ?? randomBytes(32),
    ...(options.config ? { config: options.config } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const latest = new Map<string, Redacted<Exchange>>();
  imported.exchanges.forEach((captured, i) => {
    const { exchange, updated } = engine.ingest(captured, i + 1);
    latest.set(exchange.id, exchange);
    // Later exchanges can change earlier findings (a reused code shows only at the second use).
    for (const earlier of updated) latest.set(earlier.id, earlier);
  });
  const suppressed: AttachedFinding[] = [];
  const redactedInput = imported.standIns > 0;
  const exchanges = [...latest.values()]
    .sort((a, b) => a.seq - b.seq)
    .map((exchange) => (redactedInput ? withoutUnjudgeable(exchange, suppressed) : exchange));
  const entries = (input as { log: { entries: unknown[] } }).log.entries.length;
  return {
    ...(imported.creator ? { creator: imported.creator } : {}),
    redactedInput,
    suppressed,
    entries,
    skipped: imported.skipped,
    exchanges,
    flows: summariseFlows(exchanges),
    findings: exchanges.flatMap((exchange) => exchange.oauth.findings.map((finding) => ({ exchangeId: exchange.id, finding }))),
    har: exchangesToHar(exchanges, {
      ...(options.salt ? { salt: options.salt } : {}),
      ...(options.creatorVersion ? { creatorVersion: options.creatorVersion } : {}),
      comment: `Redacted by oauth-lens analyze from a HAR written by ${imported.creator ?? 'an unknown tool'}.`,
    }),
  };
}

/** The exchange without findings it cannot judge on stand-in values (redact.ts keeps it redacted). */
function withoutUnjudgeable(exchange: Redacted<Exchange>, suppressed: AttachedFinding[]): Redacted<Exchange> {
  const result = withoutFindings(exchange, (finding) => NEEDS_REAL_VALUES.has(finding.code));
  for (const finding of result.dropped) suppressed.push({ exchangeId: exchange.id, finding });
  return result.exchange;
}

function summariseFlows(exchanges: Redacted<Exchange>[]): FlowSummary[] {
  const flows = new Map<string, FlowSummary>();
  for (const exchange of exchanges) {
    const flowId = exchange.oauth.flowId;
    if (!flowId) continue;
    let flow = flows.get(flowId);
    if (!flow) {
      flow = { flowId, exchangeIds: [], findings: 0, errors: 0 };
      flows.set(flowId, flow);
    }
    flow.exchangeIds.push(exchange.id);
    flow.clientId ??= exchange.oauth.clientId;
    flow.provider ??= exchange.oauth.provider;
    flow.findings += exchange.oauth.findings.length;
    flow.errors += exchange.oauth.findings.filter((f) => f.severity === 'error').length;
  }
  return [...flows.values()];
}
