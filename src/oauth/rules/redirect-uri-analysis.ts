/**
 * The three redirect_uri comparisons of oauth-rules.md §1.1, computed once per exchange for R01–R07:
 * (a) authorize vs token request [C a→t], (b) authorize (or, without a captured authorize, the token
 * request) vs the configured registered list [K], (c) the AS saying "redirect mismatch".
 */
import { paramText } from '../facts.js';
import type { ClientConfig } from '../config.js';
import type { AnalyzedExchange, RuleContext } from './types.js';
import { aadstsCodes, errorCode, errorText, rejected } from './provider-signals.js';
import { compareRedirectUris, nearestRegistered, unencodedSplit, type DiffClass, type UriDiff } from './redirect-uri-util.js';

export type Comparison = 'authorize_vs_token' | 'callback_vs_token' | 'registered_vs_authorize' | 'registered_vs_token';

export interface RedirectDiff {
  comparison: Comparison;
  /** The reference value (authorize request, callback target, or nearest registered entry). */
  reference: string;
  referenceLabel: string;
  /** The value that differs from it. */
  value: string;
  valueLabel: string;
  diff: UriDiff;
  /** Overrides the classifier: the unencoded-`&` split of §1.1 R04 (d). */
  cls: DiffClass;
  /** Exchanges that took part (besides the one checked). */
  related: AnalyzedExchange[];
  registered?: readonly string[];
}

export interface RedirectAnalysis {
  /** Present when the exchange is an authorization-code exchange or an authorize request. */
  role?: 'authorize' | 'token';
  /** redirect_uri this exchange sent ('' when sent empty; undefined when omitted). */
  sent?: string;
  /** The authorize request of the flow, when it was captured and carried a redirect_uri. */
  authorize?: AnalyzedExchange;
  authorizeValue?: string;
  /** How the authorize request was linked; `fallback` (same client, time window) lowers confidence. */
  authorizeLink?: 'state' | 'code' | 'pkce' | 'fallback';
  diff?: RedirectDiff;
  /** Configured registration for this client_id, with redirectUris. */
  client?: ClientConfig;
  /** Config says the value is not registered and no narrow class (R01–R04) explains it. */
  notRegistered?: { value: string; nearest?: string; diff?: UriDiff; registered: readonly string[] };
  /** What the AS said, when it reported a redirect mismatch (error code, AADSTS or loose text match). */
  asSignal?: string;
}

const NARROW: ReadonlySet<DiffClass> = new Set(['trailing_slash', 'scheme', 'host_port', 'case_encoding']);

export function isCodeExchange(ex: AnalyzedExchange): boolean {
  return ex.kind === 'token' && (ex.grantType === 'authorization_code' || (ex.grantType === undefined && !!ex.code));
}

/** The AS reported a redirect_uri mismatch: a stable error code or AADSTS50011, else loose wording (§7). */
export function asRedirectSignal(ex: AnalyzedExchange): string | undefined {
  const code = errorCode(ex);
  if (code && ['redirect_uri_mismatch', 'invalid_redirect_uri', 'bad_redirect_uri'].includes(code)) return code;
  if (aadstsCodes(ex).has('50011')) return 'AADSTS50011';
  const text = errorText(ex);
  for (const c of ['redirect_uri_mismatch', 'invalid_redirect_uri', 'bad_redirect_uri']) if (text.includes(c)) return c;
  if (/redirect[_ ]?ur[il]|reply (address|url)/.test(text)
    && /mismatch|invalid|incorrect|not match|did not match|not registered|identical|missing|misconfigured|not allowed|must match/.test(text)) {
    return 'redirect_uri error text';
  }
  return undefined;
}

function clientFor(ctx: RuleContext, clientId: string | undefined): ClientConfig | undefined {
  if (!clientId) return undefined;
  return ctx.config.clients.find((c) => c.clientId === clientId && (c.redirectUris?.length ?? 0) > 0);
}

function registeredCheck(value: string, client: ClientConfig, comparison: Comparison, valueLabel: string,
  related: AnalyzedExchange[]): Pick<RedirectAnalysis, 'diff' | 'notRegistered'> {
  const registered = client.redirectUris ?? [];
  if (registered.includes(value)) return {};
  const near = nearestRegistered(value, registered, valueLabel);
  // Only differences an exact-match AS would call "the same URI, spelled differently" get a narrow code.
  if (near && near.diff.primary && near.diff.classes.every((c) => NARROW.has(c))) {
    return {
      diff: {
        comparison, reference: near.uri, referenceLabel: 'registered', value, valueLabel,
        diff: near.diff, cls: near.diff.primary, related, registered,
      },
    };
  }
  return { notRegistered: { value, ...(near ? { nearest: near.uri, diff: near.diff } : {}), registered } };
}

/**
 * Eight rules ask for the same analysis of one evaluation, one after the other: the runner hands them
 * one context object per exchange evaluation. A one-entry cache keyed on that object is enough.
 */
let last: { ctx: RuleContext; ex: AnalyzedExchange; result: RedirectAnalysis } | undefined;

export function analyseRedirect(ex: AnalyzedExchange, ctx: RuleContext): RedirectAnalysis {
  if (last && last.ctx === ctx && last.ex === ex) return last.result;
  const result = ex.kind === 'authorize' && ex.authorize ? analyseAuthorize(ex, ctx) : isCodeExchange(ex) ? analyseToken(ex, ctx) : {};
  last = { ctx, ex, result };
  return result;
}

function analyseAuthorize(ex: AnalyzedExchange, ctx: RuleContext): RedirectAnalysis {
  const sent = ex.authorize?.redirectUri;
  const asSignal = asRedirectSignal(ex);
  const out: RedirectAnalysis = { role: 'authorize', ...(sent !== undefined ? { sent } : {}), ...(asSignal ? { asSignal } : {}) };
  const client = clientFor(ctx, ex.authorize?.clientId);
  if (client) out.client = client;
  if (client && sent) Object.assign(out, registeredCheck(sent, client, 'registered_vs_authorize', 'authorize', []));
  return out;
}

function analyseToken(ex: AnalyzedExchange, ctx: RuleContext): RedirectAnalysis {
  const sent = ex.redirectUri ?? paramText(ex.params, 'redirect_uri');
  const asSignal = asRedirectSignal(ex);
  const out: RedirectAnalysis = { role: 'token', ...(sent !== undefined ? { sent } : {}), ...(asSignal ? { asSignal } : {}) };
  // Without a code/PKCE/state link (e.g. Facebook's GET exchange has no grant_type), the latest authorize of this client.
  const linked = ctx.correlation.authorize;
  const authorize = linked ?? ctx.correlation.recentAuthorizes.filter((x) => x.kind === 'authorize' && x.at <= ex.at).at(-1);
  const authorizeValue = authorize?.authorize?.redirectUri;
  if (authorize && authorizeValue) {
    out.authorize = authorize;
    out.authorizeValue = authorizeValue;
    out.authorizeLink = linked ? ctx.correlation.authorizeLink ?? 'fallback' : 'fallback';
  }
  const client = clientFor(ctx, ex.clientId);
  if (client) out.client = client;
  if (!sent) return out;

  if (authorize && authorizeValue) {
    const diff = compareRedirectUris(authorizeValue, sent, ['the authorize value', 'the token value']);
    if (!diff.equal && diff.primary) {
      const names = authorize.request.query.map((p) => p.name);
      const split = unencodedSplit(authorizeValue, sent, names);
      if (split) diff.notes.unshift('the authorize URL carried redirect_uri unencoded, so its own "&"/"#" cut it short at the AS');
      out.diff = {
        comparison: 'authorize_vs_token', reference: authorizeValue, referenceLabel: 'authorize', value: sent,
        valueLabel: 'token', diff, cls: split ? 'case_encoding' : diff.primary, related: [authorize],
      };
    }
    return out;
  }
  // No authorize captured: the callback target (scheme://host/path of the redirect) still tells what the browser used.
  const callback = ctx.correlation.authorizeResponse ?? ctx.correlation.callbacks[0];
  const target = callback?.authorizeResponse?.target;
  if (callback && target && !sent.includes('?')) {
    const diff = compareRedirectUris(target, sent, ['the callback target', 'the token value']);
    if (!diff.equal && diff.primary) {
      out.diff = {
        comparison: 'callback_vs_token', reference: target, referenceLabel: 'callback_target', value: sent,
        valueLabel: 'token', diff, cls: diff.primary, related: [callback],
      };
      return out;
    }
  }
  // Backend-only capture with a registration list: only worth saying when the AS refused the exchange.
  if (client && (rejected(ex) || asSignal)) {
    Object.assign(out, registeredCheck(sent, client, 'registered_vs_token', 'token', []));
  }
  return out;
}
