/**
 * The rule contract. A rule is a pure function over redacted facts: no I/O, no clock, no state.
 * The runner (src/oauth/runner.ts) calls every rule for every exchange (and again for earlier
 * exchanges of the same flow when a later one arrives), contains throws, and picks the primary finding.
 */
import type { Confidence, Severity } from '../../model.js';
import type { FindingCode, RuleFamily } from '../catalogue.js';
import type { LensConfig, Thresholds } from '../config.js';
import type { AnalyzedExchange, DiscoveryMetadata, ExchangeKind } from '../types.js';

export type { FindingCode, RuleFamily, LensConfig, Thresholds, AnalyzedExchange, DiscoveryMetadata };

export interface FindingDraft {
  code: FindingCode;
  severity: Severity;
  title: string;
  /** Why it failed and how to fix it, including the provider-specific hint where one applies. */
  detail: string;
  /** Short remediation (also stated in `detail`). */
  fix: string;
  /** Redacted facts only: Class C values, SecretRef displays/fps, lengths, Δt, provider error text, trace ids. */
  evidence?: Record<string, unknown>;
  confidence: Confidence;
  /** Exchanges the finding used, oldest first; must include the exchange being checked. */
  exchangeIds: string[];
  /** Forces this finding to be primary on the exchange (R21 #token_call_without_code). */
  primary?: boolean;
}

/**
 * What the correlation state knows around the exchange being checked. Lists are oldest first and
 * never include the exchange itself. "Earlier"/"later" are relative to it, so a re-evaluation of an
 * earlier exchange sees what arrived after it.
 */
export interface Correlation {
  flowId?: string;
  /** The authorize request this exchange belongs to (by state, code, PKCE challenge, or fallback). */
  authorize?: AnalyzedExchange;
  /** How `authorize` was linked. */
  authorizeLink?: 'state' | 'code' | 'pkce' | 'fallback';
  /** The authorization response (302 Location / form_post page / callback request) for this flow's code or state. */
  authorizeResponse?: AnalyzedExchange;
  /**
   * How this token request's code matched the code issued in `authorizeResponse`: `exact`, or the
   * transform that turns the code the AS received into the issued one — `decoded` (one more
   * percent-decode: the client encoded it twice, Google `4%2F0A…`), `encoded` (the client sent it
   * decoded), `plus_as_space`, `trimmed`, `unquoted`, `as_state` (the state value was sent as code) — R18 evidence.
   */
  codeMatchedBy?: 'exact' | 'decoded' | 'encoded' | 'plus_as_space' | 'trimmed' | 'unquoted' | 'as_state';
  /** Callback requests (browser → app redirect_uri) carrying this flow's code or state. */
  callbacks: AnalyzedExchange[];
  /** Token exchanges presenting the same code fp, other than this one, with their position. */
  sameCodeEarlier: AnalyzedExchange[];
  sameCodeLater: AnalyzedExchange[];
  /** Token requests presenting the same refresh-token fp. */
  sameRefreshEarlier: AnalyzedExchange[];
  sameRefreshLater: AnalyzedExchange[];
  /** The token exchange whose response issued the refresh token this request presents. */
  refreshIssuedBy?: AnalyzedExchange;
  /** For a refresh-token request: a later-or-earlier response that rotated this RT into a new one. */
  refreshRotatedBy?: AnalyzedExchange;
  /** Authorize requests whose challenge equals S256(verifier) (or plain) of this token request. */
  pkceMatches: AnalyzedExchange[];
  /** Recent authorize requests (within `authorizeWindowMs`) for the same client_id, any state. */
  recentAuthorizes: AnalyzedExchange[];
  /**
   * For an authorize request: ids among `recentAuthorizes` and the exchange itself whose flow reached a
   * successful token exchange (completed logins, which are no login loop — R48). Absent when none.
   */
  completedAuthorizeIds?: string[];
  /** Recent exchanges to the same host within the larger of the retry/outage windows, oldest first. */
  sameHostEarlier: AnalyzedExchange[];
  /** Exchanges to the same host that arrived after this one within `redirectFollowMs`/retry windows. */
  sameHostLater: AnalyzedExchange[];
  /** Recent token exchanges of the same client_id (any host) within the retry/over-issuance window. */
  sameClientEarlier: AnalyzedExchange[];
  /** Discovery metadata for this exchange's issuer/host, when a discovery document was observed. */
  discovery?: DiscoveryMetadata;
  /** For a bearer/DPoP call (userinfo, API): the earlier token response that issued the presented token, and as what (R61). */
  bearerIssuedBy?: { exchange: AnalyzedExchange; as: 'access_token' | 'id_token' | 'refresh_token' };
  /** Where this request's client_secret fp was first seen, when that was a different exchange (R10 learned). */
  secretFirstSeen?: { exchangeId: string; host: string; issuer: string; at: number };
}

export interface RuleContext {
  /** Time of the evaluation: the start of the newest exchange ingested (never the wall clock). */
  now: number;
  config: LensConfig;
  thresholds: Thresholds;
  correlation: Correlation;
}

export interface Rule {
  code: FindingCode;
  family: RuleFamily;
  /** Default severity (catalogue); a draft may escalate or downgrade it. */
  severity: Severity;
  /** Kinds the rule applies to; the runner skips others. Omit for every kind. */
  kinds?: readonly ExchangeKind[];
  /** Must be pure. Returns drafts whose `code` equals the rule's code; a throw is contained and counted. */
  check(ex: AnalyzedExchange, ctx: RuleContext): FindingDraft[];
}
