/**
 * Runs the rules on one exchange: contains a throwing rule (logged with its code and the exchange id,
 * counted, the other rules still run), drops drafts that break the contract, and marks the primary
 * finding by oauth-rules.md §0.7 (the others are contributing).
 */
import type { Confidence, Finding, Severity } from '../model.js';
import { CATALOGUE, isFindingCode } from './catalogue.js';
import type { FindingDraft, Rule, RuleContext } from './rules/types.js';
import type { AnalyzedExchange } from './types.js';

export interface RunnerLogger {
  warn(obj: object, msg: string): void;
}

const SEVERITY: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
const CONFIDENCE: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };

export class RuleRunner {
  readonly rules: readonly Rule[];
  /** Rule exceptions contained so far, by rule code. */
  readonly errors = new Map<string, number>();
  /** Drafts dropped for breaking the contract (foreign code, bad severity). */
  invalidDrafts = 0;
  #logger: RunnerLogger | undefined;
  #probable: readonly Rule[];

  constructor(rules: readonly Rule[], logger?: RunnerLogger) {
    this.rules = rules;
    this.#logger = logger;
    this.#probable = rules.filter((r) => 'probableOk' in CATALOGUE[r.code] && CATALOGUE[r.code].probableOk);
  }

  get errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  run(ex: AnalyzedExchange, ctx: RuleContext, flowId?: string): Finding[] {
    const drafts: Array<{ draft: FindingDraft; order: number }> = [];
    let order = 0;
    // §3.1: a "probable" token request only gets the rules that do not depend on the endpoint being OAuth.
    for (const rule of ex.recognition === 'probable' ? this.#probable : this.rules) {
      if (rule.kinds && !rule.kinds.includes(ex.kind)) continue;
      let out: FindingDraft[];
      try {
        out = rule.check(ex, ctx);
      } catch (err) {
        this.errors.set(rule.code, (this.errors.get(rule.code) ?? 0) + 1);
        this.#logger?.warn({ code: 'OAL_ERR_RULE', rule: rule.code, exchangeId: ex.id, error: describe(err) }, 'rule failed; other rules still ran');
        continue;
      }
      if (!Array.isArray(out)) continue;
      for (const draft of out) {
        if (!draft || draft.code !== rule.code || !isFindingCode(draft.code) || !(draft.severity in SEVERITY)) {
          this.invalidDrafts++;
          continue;
        }
        drafts.push({ draft, order: order++ });
      }
    }
    return pickPrimary(drafts, ex.id, flowId);
  }
}

function describe(err: unknown): string {
  // Rules only see redacted facts, but keep the text short and single-line anyway.
  const text = err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

function pickPrimary(drafts: Array<{ draft: FindingDraft; order: number }>, exchangeId: string, flowId?: string): Finding[] {
  const ranked = [...drafts].sort((a, b) =>
    Number(!!b.draft.primary) - Number(!!a.draft.primary)
    || SEVERITY[a.draft.severity] - SEVERITY[b.draft.severity]
    || CATALOGUE[a.draft.code].rank - CATALOGUE[b.draft.code].rank
    || CONFIDENCE[a.draft.confidence] - CONFIDENCE[b.draft.confidence]
    || a.order - b.order);
  const primary = ranked[0];
  return drafts.map(({ draft }) => {
    const ids = draft.exchangeIds.includes(exchangeId) ? draft.exchangeIds : [...draft.exchangeIds, exchangeId];
    const finding: Finding = {
      code: draft.code,
      severity: draft.severity,
      title: draft.title,
      detail: draft.detail,
      ...(draft.fix ? { fix: draft.fix } : {}),
      ...(draft.evidence ? { evidence: plain(draft.evidence) as Record<string, unknown> } : {}),
      confidence: CONFIDENCE[draft.confidence] === undefined ? 'medium' : draft.confidence,
      exchangeIds: ids,
      ...(flowId ? { flowId } : {}),
      primary: draft === primary?.draft,
    };
    return finding;
  }).sort((a, b) => Number(b.primary) - Number(a.primary));
}

/** Evidence as plain JSON data (no functions, cycles or class instances reach the sinks). */
function plain(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return { note: 'evidence was not serialisable' };
  }
}
