/**
 * Runs the rules on one exchange: contains a throwing rule (logged with its code and the exchange id,
 * counted, the other rules still run), drops drafts that break the contract, and marks the primary
 * finding by oauth-rules.md §0.7 (the others are contributing).
 *
 * Re-evaluation (an earlier exchange run again when a later one arrives) only re-runs the rules whose
 * output can have changed. A rule that did not read `ctx.now` depended only on the exchange, the fixed
 * config and the correlation fields it read; fields built from earlier exchanges cannot change (see
 * STABLE_CORRELATION), and the forward-looking ones it read are compared (same references, same list
 * elements): when all are unchanged its drafts from the last run are reused.
 */
import type { Confidence, Finding, Severity } from '../model.js';
import { CATALOGUE, isFindingCode } from './catalogue.js';
import type { Correlation, FindingDraft, Rule, RuleContext } from './rules/types.js';
import type { AnalyzedExchange } from './types.js';

export interface RunnerLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Correlation fields built only from exchanges that arrived before the one checked (or fixed when it
 * was added): a later arrival cannot change them. Everything else (…Later lists, callbacks, the
 * authorization response of an authorize request, rotation, completed logins, discovery learned later)
 * makes the rule re-run on re-evaluation.
 */
const STABLE_CORRELATION: ReadonlySet<PropertyKey> = new Set<keyof Correlation>([
  'flowId', 'authorize', 'authorizeLink', 'codeMatchedBy', 'sameCodeEarlier', 'sameRefreshEarlier', 'refreshIssuedBy',
  'pkceMatches', 'recentAuthorizes', 'sameHostEarlier', 'sameClientEarlier', 'bearerIssuedBy', 'secretFirstSeen',
]);

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
  /** Rules applicable to each kind (and to "probable" token requests), in registration order. */
  #byKind = new Map<string, readonly Rule[]>();
  #probableByKind = new Map<string, readonly Rule[]>();
  /** Per exchange: each rule's last drafts and the forward-looking correlation values it read (dies with the exchange). */
  #memo = new WeakMap<AnalyzedExchange, Map<Rule, Memo>>();

  constructor(rules: readonly Rule[], logger?: RunnerLogger) {
    this.rules = rules;
    this.#logger = logger;
    this.#probable = rules.filter((r) => 'probableOk' in CATALOGUE[r.code] && CATALOGUE[r.code].probableOk);
  }

  #applicable(ex: AnalyzedExchange): readonly Rule[] {
    const probable = ex.recognition === 'probable';
    const cache = probable ? this.#probableByKind : this.#byKind;
    let list = cache.get(ex.kind);
    if (!list) {
      // §3.1: a "probable" token request only gets the rules that do not depend on the endpoint being OAuth.
      list = (probable ? this.#probable : this.rules).filter((rule) => !rule.kinds || rule.kinds.includes(ex.kind));
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
    // Whether the rule being run read the clock, and which forward-looking correlation values it read.
    // A rule that takes the correlation object but reads no field of it while running (a test spy keeping it)
    // is treated like one that read the clock: it is always re-run.
    let usedClock = false;
    let tookCorrelation = false;
    let fieldsRead = 0;
    let reads: Array<[keyof Correlation, unknown]> = [];
    let correlation: Correlation | undefined;
    const tracked: RuleContext = {
      config: ctx.config,
      thresholds: ctx.thresholds,
      get now() {
        usedClock = true;
        return ctx.now;
      },
      get correlation() {
        tookCorrelation = true;
        return (correlation ??= new Proxy(ctx.correlation, {
          get(target, key) {
            const value = target[key as keyof Correlation];
            fieldsRead++;
            if (!STABLE_CORRELATION.has(key)) reads.push([key as keyof Correlation, value]);
            return value;
          },
        }));
      },
    };
    for (const rule of this.#applicable(ex)) {
      const last = memo?.get(rule);
      let out: FindingDraft[] | undefined = last && unchanged(last.reads, ctx) ? last.drafts : undefined;
      if (!out) try {
        usedClock = false;
        tookCorrelation = false;
        fieldsRead = 0;
        reads = [];
        out = rule.check(ex, tracked);
        const reusable = !usedClock && !(tookCorrelation && fieldsRead === 0) && Array.isArray(out);
        if (reusable) (memo ??= this.#newMemo(ex)).set(rule, { drafts: out, reads });
        else memo?.delete(rule);
        reads = [];
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

  #newMemo(ex: AnalyzedExchange): Map<Rule, Memo> {
    const map = new Map<Rule, Memo>();
    this.#memo.set(ex, map);
    return map;
  }
}

interface Memo {
  drafts: FindingDraft[];
  reads: Array<[keyof Correlation, unknown]>;
}

/** Whether every correlation value a rule read last time is still the same (lists: same exchanges in the same order). */
function unchanged(reads: Memo['reads'], ctx: RuleContext): boolean {
  if (!reads.length) return true;
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
