/**
 * Runs the rules on one exchange: contains a throwing rule (logged with its code and the exchange id,
 * counted, the other rules still run), drops drafts that break the contract, and marks the primary
 * finding by oauth-rules.md §0.7 (the others are contributing).
 *
 * Re-evaluation (an earlier exchange run again when a later one arrives) only re-runs the rules whose
 * output can have changed. A rule that did not read `ctx.now` depended only on the exchange, the fixed
 * config and the correlation fields it read; fields built from earlier exchanges cannot change, and the
 * forward-looking ones it read are compared (same references, same list elements; see
 * tracked-correlation.ts): when all are unchanged its drafts from the last run are reused.
 */
import type { Confidence, Finding, Severity } from '../model.js';
import { CATALOGUE, isFindingCode } from './catalogue.js';
import type { Correlation, FindingDraft, Rule, RuleContext } from './rules/types.js';
import { TrackedCorrelation, type ReadLog } from './tracked-correlation.js';
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
  /** Positions in `rules` of the rules applicable to each kind (and to "probable" token requests), in order. */
  #byKind = new Map<string, readonly number[]>();
  #probableByKind = new Map<string, readonly number[]>();
  /** Per exchange: each rule's last drafts and the forward-looking correlation values it read (dies with the exchange). */
  #memo = new WeakMap<AnalyzedExchange, Memo>();

  constructor(rules: readonly Rule[], logger?: RunnerLogger) {
    this.rules = rules;
    this.#logger = logger;
    this.#probable = rules.filter((r) => 'probableOk' in CATALOGUE[r.code] && CATALOGUE[r.code].probableOk);
  }

  #applicable(ex: AnalyzedExchange): readonly number[] {
    const probable = ex.recognition === 'probable';
    const cache = probable ? this.#probableByKind : this.#byKind;
    let list = cache.get(ex.kind);
    if (!list) {
      // §3.1: a "probable" token request only gets the rules that do not depend on the endpoint being OAuth.
      const allowed = probable ? new Set(this.#probable) : undefined;
      list = this.rules.flatMap((rule, i) => (!allowed || allowed.has(rule)) && (!rule.kinds || rule.kinds.includes(ex.kind)) ? [i] : []);
      cache.set(ex.kind, list);
    }
    return list;
  }

  get errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  run(ex: AnalyzedExchange, ctx: RuleContext, flowId?: string): Finding[] {
    const drafts: Array<{ draft: FindingDraft; order: number }> = [];
    let order = 0;
    let memo = this.#memo.get(ex);
    // What the rule being run reads: the clock, and correlation fields (tracked-correlation.ts).
    let usedClock = false;
    let tookCorrelation = false;
    const log: ReadLog = { active: true, fields: 0, reads: undefined };
    let correlation: TrackedCorrelation | undefined;
    const tracked: RuleContext = {
      config: ctx.config,
      thresholds: ctx.thresholds,
      get now() {
        usedClock = true;
        return ctx.now;
      },
      get correlation() {
        tookCorrelation = true;
        return (correlation ??= new TrackedCorrelation(ctx, log));
      },
    };
    for (const i of this.#applicable(ex)) {
      const rule = this.rules[i]!;
      const last = memo?.drafts[i];
      let out: FindingDraft[] | undefined = last && unchanged(memo?.reads[i], ctx) ? last : undefined;
      if (!out) try {
        usedClock = false;
        tookCorrelation = false;
        log.fields = 0;
        log.reads = undefined;
        out = rule.check(ex, tracked);
        // A rule that takes the correlation object but reads no field of it while running (a test spy keeping
        // it) is treated like one that read the clock: it is always re-run.
        const reusable = !usedClock && !(tookCorrelation && log.fields === 0) && Array.isArray(out);
        if (reusable) {
          memo ??= this.#newMemo(ex);
          memo.drafts[i] = out;
          memo.reads[i] = log.reads;
        } else if (memo) memo.drafts[i] = undefined;
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
    log.active = false;
    return pickPrimary(drafts, ex.id, flowId);
  }

  #newMemo(ex: AnalyzedExchange): Memo {
    const memo: Memo = { drafts: new Array(this.rules.length), reads: new Array(this.rules.length) };
    this.#memo.set(ex, memo);
    return memo;
  }
}

/** By rule position: the drafts of its last run when reusable, and the forward-looking values it read. */
interface Memo {
  drafts: Array<FindingDraft[] | undefined>;
  reads: Array<Reads | undefined>;
}

type Reads = Array<[keyof Correlation, unknown]>;

/** Whether every correlation value a rule read last time is still the same (lists: same exchanges in the same order). */
function unchanged(reads: Reads | undefined, ctx: RuleContext): boolean {
  if (!reads) return true;
  const now = ctx.correlation;
  for (const [key, before] of reads) {
    const after: unknown = now[key];
    if (after === before) continue;
    if (!Array.isArray(after) || !Array.isArray(before) || after.length !== before.length) return false;
    for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) return false;
  }
  return true;
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
    // Copied: a draft reused across re-evaluations must not share arrays between emitted findings.
    const ids = draft.exchangeIds.includes(exchangeId) ? [...draft.exchangeIds] : [...draft.exchangeIds, exchangeId];
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
