/**
 * The correlation a rule sees while the runner records what it reads: which forward-looking fields (those
 * a later arrival can change) and their values, so a re-evaluation can reuse the rule's drafts when none
 * changed (runner.ts). Prototype getters, not a Proxy: a rule reads correlation fields in its hot loops
 * and a Proxy trap per read cost more than most rules.
 */
import type { Correlation, RuleContext } from './rules/types.js';

/** What the rule being run has read so far; reset by the runner before each rule. */
export interface ReadLog {
  /** False once the run is over: a rule that kept the object (a test spy) reads without recording. */
  active: boolean;
  /** Fields read, stable or not. */
  fields: number;
  /** Forward-looking fields read, with the value seen. */
  reads: Array<[keyof Correlation, unknown]> | undefined;
}

/**
 * Every correlation field, and whether a later arrival can change it. `stable` fields are built only from
 * exchanges that arrived before the one checked (or fixed when it was added). `recorded` ones (…Later
 * lists, callbacks, the authorization response of an authorize request, rotation, completed logins,
 * discovery learned later) are logged with their value and compared on re-evaluation. A Record, so a
 * field added to Correlation does not compile until it is classified here.
 */
const FIELDS: Record<keyof Correlation, 'stable' | 'recorded'> = {
  flowId: 'stable', authorize: 'stable', authorizeLink: 'stable', codeMatchedBy: 'stable', sameCodeEarlier: 'stable',
  sameRefreshEarlier: 'stable', refreshIssuedBy: 'stable', pkceMatches: 'stable', recentAuthorizes: 'stable',
  sameHostEarlier: 'stable', sameClientEarlier: 'stable', bearerIssuedBy: 'stable', secretFirstSeen: 'stable',
  authorizeResponse: 'recorded', callbacks: 'recorded', sameCodeLater: 'recorded', sameRefreshLater: 'recorded',
  refreshRotatedBy: 'recorded', completedAuthorizeIds: 'recorded', sameHostLater: 'recorded', discovery: 'recorded',
};

/** Read through prototype getters defined from FIELDS (below); the declarations only type them. */
export interface TrackedCorrelation extends Correlation {}

export class TrackedCorrelation {
  #ctx: RuleContext;
  #log: ReadLog;

  constructor(ctx: RuleContext, log: ReadLog) {
    this.#ctx = ctx;
    this.#log = log;
  }

  /** The value of `key` in the correlation, logged when a later arrival could change it. */
  read<K extends keyof Correlation>(key: K, recorded: boolean): Correlation[K] {
    const value = this.#ctx.correlation[key];
    const log = this.#log;
    if (log.active) {
      log.fields++;
      if (recorded) (log.reads ??= []).push([key, value]);
    }
    return value;
  }

  /** Serialises as the correlation itself (the leak test stringifies what rules see). */
  toJSON(): Correlation {
    return this.#ctx.correlation;
  }
}

for (const [key, kind] of Object.entries(FIELDS) as Array<[keyof Correlation, 'stable' | 'recorded']>) {
  const recorded = kind === 'recorded';
  Object.defineProperty(TrackedCorrelation.prototype, key, {
    configurable: true,
    get(this: TrackedCorrelation) {
      return this.read(key, recorded);
    },
  });
}
