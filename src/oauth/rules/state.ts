/**
 * state, CSRF and callback rules, oauth-rules.md §1.6 (R28–R31). state is Class B: findings show its
 * length, first 6 characters and fingerprint, never the whole value.
 */
import type { Severity } from '../../model.js';
import { param } from '../facts.js';
import type { AnalyzedExchange, SecretRef } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { exchangeIds, where } from './provider-signals.js';
import {
  appSaysCookieMissing, appSaysStateMismatch, callbackFailed, callbackParams, findLoginStart, isCallback, loginStartStates, missingCookies,
  type MissingCookie,
} from './state-util.js';

function stateEvidence(ref: SecretRef | undefined): Record<string, unknown> | null {
  return ref ? { length: ref.length, prefix: ref.prefix, fp: ref.fp.slice(0, 12) } : null;
}

function appResponse(ex: AnalyzedExchange): Record<string, unknown> | undefined {
  const r = ex.response;
  if (!r) return undefined;
  return {
    status: r.status, ...(r.location ? { location: r.location } : {}), ...(r.htmlTitle ? { title: r.htmlTitle } : {}),
    ...(ex.providerError?.error ? { error: ex.providerError.error } : {}),
    ...(ex.providerError?.errorDescription ? { error_description: ex.providerError.errorDescription } : {}),
  };
}

function draft(code: FindingDraft['code'], severity: Severity, confidence: FindingDraft['confidence'], ex: AnalyzedExchange,
  related: Array<AnalyzedExchange | undefined>, title: string, why: string, fix: string, evidence: Record<string, unknown>): FindingDraft {
  return { code, severity, confidence, title, detail: `${why} Fix: ${fix}`, fix, evidence, exchangeIds: exchangeIds(ex, ...related) };
}

type CookieAnalysis = { login?: AnalyzedExchange; missing: MissingCookie[] };
/** One-entry cache per evaluation context, as in redirect-uri-analysis.ts (R28 and R29 both need it). */
let lastCookies: { ctx: RuleContext; ex: AnalyzedExchange; result: CookieAnalysis } | undefined;

/** R29 analysis, shared with R28 (which defers to it when a cookie explains the failure). */
function cookieAnalysis(ex: AnalyzedExchange, ctx: RuleContext): CookieAnalysis {
  if (lastCookies && lastCookies.ctx === ctx && lastCookies.ex === ex) return lastCookies.result;
  let result: CookieAnalysis = { missing: [] };
  if (isCallback(ex)) {
    const login = findLoginStart(ex, ctx);
    if (login) result = { login, missing: missingCookies(login, ex) };
  }
  lastCookies = { ctx, ex, result };
  return result;
}

const STATE_FIX = 'Key stored state by its value (allow several in-flight logins) or block concurrent logins; URL-encode state exactly once; keep it server-side.';

const stateMismatch: Rule = {
  code: 'state.mismatch', family: 'state', severity: 'error', kinds: ['authorize_response'],
  check(ex, ctx) {
    const cb = callbackParams(ex);
    if (!cb) return [];
    const c = ctx.correlation;
    // When the engine read the app's error redirect as the response, its links are not this callback's.
    const authorize = cb.fromRequest ? undefined : c.authorize;
    const sent = authorize?.authorize?.state;
    const got = cb.state;
    const base = () => ({ callback_state: stateEvidence(got), app_response: appResponse(ex) });

    // Linked by code (not by state): the state that came back is not the one the flow sent.
    if (authorize && sent && c.authorizeLink !== 'state' && got?.fp !== sent.fp) {
      const variants = Object.entries(got?.variants ?? {}).filter(([, fp]) => fp === sent.fp).map(([k]) => k);
      const reverse = Object.entries(sent.variants ?? {}).filter(([, fp]) => fp === got?.fp).map(([k]) => k);
      const encoding = [...variants, ...reverse];
      const why = !got
        ? 'The callback carries no state although the authorize request of this flow sent one.'
        : encoding.length
          ? `The callback state differs from the authorize state only by encoding (${encoding.join(', ')}): a base64 state with "+", "/" or "=" not percent-encoded, or "+" read back as a space.`
          : 'The callback state is not the state this flow\'s authorize request sent (the code links them).';
      return [draft('state.mismatch', 'error', 'high', ex, [authorize], 'Callback state does not match the authorize request', why, STATE_FIX,
        { ...base(), authorize_state: stateEvidence(sent), linked_by: c.authorizeLink, authorize_exchange: where(authorize), ...(encoding.length ? { sub_diagnosis: 'encoding' } : {}) })];
    }
    const failed = callbackFailed(ex) || appSaysStateMismatch(ex);
    // Linked by state: fine, unless a later authorize from the same browser superseded it and the app rejected the callback.
    if (authorize && c.authorizeLink === 'state') {
      // Everything below needs the app to have refused the callback.
      if (!failed) return [];
      const newer = c.recentAuthorizes.filter((a) => a.at > authorize.at && a.at <= ex.at && a.id !== authorize.id
        && a.authorize?.state?.fp !== sent?.fp && (!a.clientAddress || a.clientAddress === ex.clientAddress));
      if (newer.length) {
        return [draft('state.mismatch', 'error', 'high', ex, [authorize, ...newer], 'Callback state belongs to a superseded login',
          `The callback state matches an older authorize request (${where(authorize).at}) that ${newer.length} newer login(s) from the same browser replaced (two tabs or a double click on "Log in"), and the app rejected it: it keeps only the latest state.`,
          STATE_FIX, { ...base(), outstanding_states: [authorize, ...newer].map((a) => ({ exchange: a.id, at: where(a).at, state: stateEvidence(a.authorize?.state) })), sub_diagnosis: 'superseded' })];
      }
      if (cookieAnalysis(ex, ctx).missing.length) return [];
      // Proven by fingerprints: after the one decode the query requires, the state still decodes to another value
      // (it holds %-escapes), so the app encoded it twice and compares the callback with its unencoded copy.
      if (sent?.variants?.decoded) {
        return [draft('state.mismatch', 'error', 'high', ex, [authorize], 'State URL-encoded twice by the app',
          'The authorize request sent a state that still contains %-escapes after the one URL decode its query needs (its fingerprint after one more decode differs), so the app percent-encoded it twice. The AS returned it unchanged and the app, comparing it with the value it stored before encoding, rejected the callback.',
          'Percent-encode state exactly once (let the URL builder do it; do not pre-encode the value).',
          { ...base(), authorize_state: stateEvidence(sent), authorize_exchange: where(authorize), sub_diagnosis: 'encoding', transform: 'extra_encoding' })];
      }
      if (!appSaysStateMismatch(ex)) return [];
      // A state outside the URL-safe alphabets after one decode usually held a "+" the app never percent-encoded.
      const encoding = sent?.shape === 'printable';
      return [draft('state.mismatch', 'error', 'medium', ex, [authorize], 'App rejected a state the AS returned unchanged',
        `The app reports a state mismatch although the callback state equals the one its authorize request sent: the app lost or re-encoded its stored copy${encoding
          ? '. The state holds characters outside the URL-safe set after one decode (shape "printable"), typically a base64 "+" sent unencoded and read back as a space.'
          : ' (session not shared between instances, cookie dropped, or a "+" in an unencoded base64 state read back as a space).'}`,
        STATE_FIX, { ...base(), authorize_state: stateEvidence(sent), authorize_exchange: where(authorize), ...(encoding ? { sub_diagnosis: 'encoding', state_shape: sent?.shape } : {}) })];
    }
    // No authorize request carries this state: compare with the logins the app started (their Location holds each state's fp).
    const started = !authorize && got && failed ? loginStartStates(ex, ctx) : [];
    if (started.length && got && !started.some((s) => s.fp === got.fp.slice(0, 12))) {
      return [draft('state.mismatch', 'error', 'medium', ex, started.map((s) => s.exchange), 'Callback state matches no login started',
        `The callback state (length ${got.length}) matches none of the ${started.length} login(s) the app started on ${ex.request.url.host} in the last minutes, and the app rejected it: a stale tab or bookmark, a state altered on the way, or a forged callback.`,
        STATE_FIX, { ...base(), outstanding_states: started.map((s) => ({ exchange: s.exchange.id, at: where(s.exchange).at, fp: s.fp })) })];
    }
    // Browser leg not captured: only the app's own words.
    if (!authorize && appSaysStateMismatch(ex) && !cookieAnalysis(ex, ctx).missing.length) {
      return [draft('state.mismatch', 'error', 'medium', ex, [], 'App reports a state mismatch',
        `The app rejected the callback with a state error and no outstanding authorize request with this state passed through the lens${got ? '' : ' (the callback has no state at all)'}.`,
        STATE_FIX, base())];
    }
    return [];
  },
};

const COOKIE_FIX: Record<string, string> = {
  samesite_form_post: 'Use response_mode=query where allowed, or SameSite=None; Secure on the transient OAuth cookies only, or a same-origin re-POST interstitial (Apple requires form_post when requesting name/email, so it needs one of the latter two).',
  samesite_strict: 'Use SameSite=Lax (not Strict) on the transient OAuth cookies: Strict cookies are not sent on the cross-site redirect back from the AS.',
  host_mismatch: 'Use one host for login start and callback (localhost and 127.0.0.1 are different cookie hosts), or set Domain explicitly.',
  secure_over_http: 'Serve the callback over https, or drop Secure / the __Secure-/__Host- prefix in local development.',
  path: 'Set Path=/ (or a path covering the callback) on the transient OAuth cookies.',
  expired: 'Give transient OAuth cookies a lifetime longer than the login takes (e.g. 10–15 min).',
  too_large: 'Keep the state/PKCE cookie small (a random handle; store the payload server-side).',
  unknown: 'Check the browser\'s cookie console for why it was blocked (third-party/partitioning settings, another browser profile).',
};

const cookieNotSent: Rule = {
  code: 'state.cookie_not_sent', family: 'state', severity: 'error', kinds: ['authorize_response'],
  check(ex, ctx) {
    if (!isCallback(ex)) return [];
    const { login, missing } = cookieAnalysis(ex, ctx);
    const appSays = appSaysCookieMissing(ex);
    const req = ex.request;
    const callbackFacts = () => ({ method: req.method, url: req.url.base, cookies_sent: req.cookieNames, origin: req.origin ?? null, sec_fetch_site: req.secFetchSite ?? null });
    if (login && missing.length) {
      const explained = missing.filter((m) => !m.causes.includes('unknown'));
      if (!explained.length && !callbackFailed(ex) && !appSays) return [];
      const list = explained.length ? explained : missing;
      const causes = [...new Set(list.flatMap((m) => m.causes))];
      const why = `${list.map((m) => m.name).join(', ')} ${list.length > 1 ? 'were' : 'was'} set when the login started (${where(login).at}) but the callback did not send ${list.length > 1 ? 'them' : 'it'}: ${causes.join(', ')}.`
        + `${list.flatMap((m) => m.notes).map((n) => ` ${n}.`).join('')}`
        + `${causes.includes('samesite_form_post') ? ' The AS posts the response (form_post) cross-site, and SameSite=Lax/Strict cookies are not sent on a cross-site POST.' : ''}`;
      return [draft('state.cookie_not_sent', 'error', explained.length ? 'high' : 'medium', ex, [login, ctx.correlation.authorize],
        'Login cookie missing on the callback', why, causes.map((c) => COOKIE_FIX[c]).join(' '), {
          sub_diagnosis: causes,
          cookies: list.map((m) => ({ name: m.name, attributes: m.attributes, causes: m.causes })),
          login_start: where(login), callback: callbackFacts(), app_response: appResponse(ex),
        })];
    }
    // The login start went to another host than the callback (localhost vs 127.0.0.1): the browser keeps their cookies apart.
    const referer = ctx.correlation.authorize?.request.referer;
    const refHost = referer ? /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(referer)?.[1]?.toLowerCase() : undefined;
    if (!login && refHost && refHost !== req.url.host && !req.cookieNames.length && (callbackFailed(ex) || appSays)) {
      return [draft('state.cookie_not_sent', 'error', 'medium', ex, [ctx.correlation.authorize], 'Login started on another host than the callback',
        `The login started on ${refHost} (the authorize request's Referer) but the callback went to ${req.url.host} and carried no cookies; cookies set on one host are not sent to the other.`,
        COOKIE_FIX.host_mismatch, { sub_diagnosis: ['host_mismatch'], login_host: refHost, callback: callbackFacts(), app_response: appResponse(ex) })];
    }
    if (appSays && !login) {
      return [draft('state.cookie_not_sent', 'error', 'medium', ex, [], 'App reports its state cookie missing',
        'The app rejected the callback because its state/nonce/PKCE cookie was missing; the login start was not captured, so the cause cannot be read from Set-Cookie attributes. Common causes: SameSite=Lax with response_mode=form_post, login and callback on different hosts, Secure cookies over http.',
        `${COOKIE_FIX.samesite_form_post} ${COOKIE_FIX.host_mismatch}`, { callback: callbackFacts(), app_response: appResponse(ex) })];
    }
    return [];
  },
};

const tooLong: Rule = {
  code: 'state.too_long', family: 'state', severity: 'warning', kinds: ['authorize'],
  check(ex, ctx) {
    const a = ex.authorize;
    if (!a) return [];
    const t = ctx.thresholds;
    const problems: string[] = [];
    let severity: Severity = 'warning';
    if (a.state && a.state.length > t.stateMaxLength) problems.push(`state is ${a.state.length} characters (over ${t.stateMaxLength}; X/Twitter caps it at 500, others at 128–250)`);
    if (a.urlLength > t.authorizeUrlErrorBytes) {
      problems.push(`the authorize URL is ${a.urlLength} bytes (over ${t.authorizeUrlErrorBytes}; servers and proxies reject it)`);
      severity = 'error';
    } else if (a.urlLength > t.authorizeUrlWarnBytes) {
      problems.push(`the authorize URL is ${a.urlLength} bytes (over ${t.authorizeUrlWarnBytes})`);
    }
    const status = ex.response?.status;
    const text = `${ex.response?.statusText ?? ''} ${ex.response?.htmlTitle ?? ''}`.toLowerCase();
    const refused = status === 414 || status === 431 || (status === 400 && /too (large|long)/.test(text));
    if (refused && problems.length) severity = 'error';
    if (refused) problems.push(`the AS answered ${status} ${ex.response?.statusText ?? ''}`.trimEnd());
    if (!problems.length) return [];
    const fix = 'Keep state a short random handle and store the payload server-side; use PAR (RFC 9126) for large requests.';
    return [draft('state.too_long', refused ? 'error' : severity, 'high', ex, [], 'state or authorize URL too long',
      `${problems.join('; ')}.`, fix, { state: stateEvidence(a.state), url_length: a.urlLength, ...(status !== undefined ? { status } : {}) })];
  },
};

const missingProtection: Rule = {
  code: 'state.missing', family: 'state', severity: 'warning', kinds: ['authorize'],
  check(ex) {
    const a = ex.authorize;
    if (!a) return [];
    const types = (a.responseType ?? '').split(/\s+/);
    if (!types.includes('code')) return [];
    // PAR / JAR: the parameters travel in the pushed or signed request, not the URL.
    if (a.requestUri || param(ex.params, 'request') !== undefined) return [];
    const openid = a.scopes?.includes('openid') ?? false;
    if (a.state || ex.pkce.codeChallenge || (openid && a.nonce)) return [];
    const fix = 'Send PKCE (preferred) and/or a one-time state bound to the browser session.';
    return [draft('state.missing', 'warning', 'high', ex, [], 'Authorize request without CSRF protection',
      `This code-flow authorize request has no state, no code_challenge${openid ? ' and no nonce' : ''}, so nothing binds the callback to this browser (RFC 9700 §2.1: clients MUST prevent CSRF).`,
      fix, { client_id: a.clientId, response_type: a.responseType, scope: a.scopeRaw, state: null, code_challenge: null, ...(openid ? { nonce: null } : {}) })];
  },
};

export const rules: Rule[] = [stateMismatch, cookieNotSent, tooLong, missingProtection];
