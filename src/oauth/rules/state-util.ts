/**
 * What the state/callback rules (oauth-rules.md §1.6) need beyond one exchange: the LOGIN_START
 * exchange (browser → app, answered with a redirect to the authorize endpoint and the transient
 * OAuth cookies), which of those cookies the callback lacked, and why, from their attributes.
 */
import { isSecretRef, param } from '../facts.js';
import type { AnalyzedExchange, SecretRef, SetCookieFacts } from '../types.js';
import type { RuleContext } from './types.js';
import { errorText } from './provider-signals.js';

export interface CallbackParams {
  state?: SecretRef;
  code?: SecretRef;
  /** The engine read the app's own redirect (`/error?error=…`) as the authorization response. */
  fromRequest: boolean;
}

/**
 * The authorization response as the browser delivered it to the app: what the engine recognised as a
 * callback, else the `code`/`state` parameters of an authorize_response request itself.
 */
export function callbackParams(ex: AnalyzedExchange): CallbackParams | undefined {
  if (lastCallback?.ex === ex) return lastCallback.params;
  const params = readCallback(ex);
  lastCallback = { ex, params };
  return params;
}

/** Exchanges are immutable and rules ask about the same one in a row: a one-entry cache. */
let lastCallback: { ex: AnalyzedExchange; params: CallbackParams | undefined } | undefined;

function readCallback(ex: AnalyzedExchange): CallbackParams | undefined {
  const r = ex.authorizeResponse;
  if (r?.via.startsWith('callback')) {
    const out: CallbackParams = { fromRequest: false };
    if (r.state) out.state = r.state;
    if (r.code) out.code = r.code;
    return out;
  }
  if (ex.kind !== 'authorize_response') return undefined;
  const params = ex.request.method === 'POST' ? ex.request.form ?? [] : ex.request.query;
  const state = param(params, 'state');
  const code = param(params, 'code');
  if (!isSecretRef(state) && !isSecretRef(code)) return undefined;
  const out: CallbackParams = { fromRequest: true };
  if (isSecretRef(state)) out.state = state;
  if (isSecretRef(code)) out.code = code;
  return out;
}

export function isCallback(ex: AnalyzedExchange): boolean {
  return callbackParams(ex) !== undefined;
}

/** The app answered its callback with a failure (HTTP error, or a redirect to an error route). */
export function callbackFailed(ex: AnalyzedExchange): boolean {
  const r = ex.response;
  if (!r) return false;
  if (r.status >= 400) return true;
  return r.status >= 300 && r.status < 400 && /[?&/](error|err)(=|\b)|login\?.*error|\/error\b/i.test(r.location ?? '');
}

/** Library messages for a lost state cookie (next-auth, openid-client/nextjs-auth0, ASP.NET Core). Matched loosely. */
const COOKIE_MISSING = /state cookie|cookie (was )?missing|checks\.state argument is missing|state was missing|correlation failed|nonce cookie|pkce(\.| )code_verifier cookie|code_verifier cookie/;
/** Library messages for a state that does not match (authlib, openid-client, generic). */
const STATE_MISMATCH = /mismatching_state|state mismatch|state (does not|doesn't|did not) match|state not equal|invalid state|unexpected state|bad state|csrf warning/;

export function appSaysCookieMissing(ex: AnalyzedExchange): boolean {
  return COOKIE_MISSING.test(errorText(ex));
}

export function appSaysStateMismatch(ex: AnalyzedExchange): boolean {
  return STATE_MISMATCH.test(errorText(ex));
}

function isRedirect(ex: AnalyzedExchange): boolean {
  const s = ex.response?.status ?? 0;
  return s >= 300 && s < 400 && !!ex.response?.location;
}

/**
 * The LOGIN_START of this callback's flow: an earlier exchange on the callback host whose response
 * redirected to the authorize endpoint and set cookies. Prefers the one whose Location carried the
 * flow's state (its redaction marker shows the same fingerprint).
 */
export function findLoginStart(ex: AnalyzedExchange, ctx: RuleContext): AnalyzedExchange | undefined {
  const authorize = ctx.correlation.authorize;
  const stateFp = authorize?.authorize?.state?.fp.slice(0, 12);
  const candidates = ctx.correlation.sameHostEarlier.filter((e) => e.seq < ex.seq && isRedirect(e) && e.response?.setCookies.length
    && (authorize ? (e.response.location ?? '').startsWith(authorize.request.url.base) : /[?&]response_type=/.test(e.response.location ?? '')));
  if (!candidates.length) return undefined;
  return (stateFp && candidates.filter((e) => (e.response?.location ?? '').includes(stateFp)).at(-1)) || candidates.at(-1);
}

/** States (12-hex fp of their redaction marker) of the logins the app started on the callback's host, oldest first. */
export function loginStartStates(ex: AnalyzedExchange, ctx: RuleContext): Array<{ exchange: AnalyzedExchange; fp: string }> {
  const out: Array<{ exchange: AnalyzedExchange; fp: string }> = [];
  for (const e of ctx.correlation.sameHostEarlier) {
    if (e.seq >= ex.seq || !isRedirect(e)) continue;
    const m = /[?&#]state=(?:\[|%5B)REDACTED(?: |%20|\+)state(?: |%20|\+)len=\d+(?: |%20|\+)fp=([0-9a-f]{12})/i.exec(e.response?.location ?? '');
    if (m?.[1]) out.push({ exchange: e, fp: m[1].toLowerCase() });
  }
  return out;
}

export type CookieCause =
  | 'samesite_form_post' | 'samesite_strict' | 'host_mismatch' | 'secure_over_http' | 'path' | 'expired' | 'too_large' | 'unknown';

export interface MissingCookie {
  name: string;
  attributes: Record<string, string>;
  causes: CookieCause[];
  notes: string[];
}

function domainMatches(host: string, domain: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  return host === d || host.endsWith(`.${d}`);
}

function pathMatches(path: string, cookiePath: string): boolean {
  if (path === cookiePath) return true;
  if (!path.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || path[cookiePath.length] === '/';
}

function isDeletion(c: SetCookieFacts, at: number): boolean {
  const maxAge = c.attributes['max-age'];
  if (maxAge !== undefined && Number(maxAge) <= 0) return true;
  const expires = c.attributes.expires !== undefined ? Date.parse(c.attributes.expires) : NaN;
  return (Number.isFinite(expires) && expires <= at) || c.valueRef.length === 0;
}

/** The request reached the app as a cross-site navigation (from the AS). */
function crossSite(ex: AnalyzedExchange): boolean {
  const site = ex.request.secFetchSite?.toLowerCase();
  if (site) return site === 'cross-site';
  const origin = ex.request.origin;
  if (origin === 'null') return true;
  if (origin) return !origin.toLowerCase().includes(`//${ex.request.url.host}`);
  return ex.request.method === 'POST';
}

/** Cookies set at LOGIN_START that the callback did not send, each with the causes its attributes prove. */
export function missingCookies(login: AnalyzedExchange, callback: AnalyzedExchange): MissingCookie[] {
  const sent = new Set(callback.request.cookieNames);
  const out: MissingCookie[] = [];
  const url = callback.request.url;
  const ageMs = callback.at - login.at;
  for (const c of login.response?.setCookies ?? []) {
    if (sent.has(c.name) || isDeletion(c, login.at)) continue;
    const a = c.attributes;
    const causes: CookieCause[] = [];
    const notes: string[] = [];
    const sameSite = a.samesite?.toLowerCase();
    const post = callback.request.method === 'POST';
    if (post && crossSite(callback)) {
      if (sameSite === 'lax' || sameSite === 'strict') causes.push('samesite_form_post');
      else if (sameSite === undefined && ageMs > 120_000) {
        causes.push('samesite_form_post');
        notes.push(`${c.name} has no SameSite attribute, so Chrome treats it as Lax; its short "Lax+POST" grace (a field report, unverified) is over after ${Math.round(ageMs / 1000)} s`);
      }
    } else if (!post && sameSite === 'strict' && crossSite(callback)) {
      causes.push('samesite_strict');
    }
    const domain = a.domain;
    if (domain ? !domainMatches(url.host, domain) : login.request.url.host !== url.host) {
      causes.push('host_mismatch');
      notes.push(`${c.name} was set for ${domain ?? login.request.url.host} but the callback went to ${url.host}`);
    }
    if (url.scheme === 'http' && ('secure' in a || c.name.startsWith('__Secure-') || c.name.startsWith('__Host-'))) {
      causes.push('secure_over_http');
      if (url.isLoopback) notes.push('some browsers make an exception for Secure cookies on localhost, others do not');
    }
    if (a.path !== undefined && !pathMatches(url.path || '/', a.path)) {
      causes.push('path');
      notes.push(`${c.name} has Path=${a.path}, the callback path is ${url.path || '/'}`);
    }
    const maxAge = a['max-age'] !== undefined ? Number(a['max-age']) : undefined;
    const expires = a.expires !== undefined ? Date.parse(a.expires) : NaN;
    if ((maxAge !== undefined && Number.isFinite(maxAge) && ageMs > maxAge * 1000) || (Number.isFinite(expires) && expires < callback.at)) {
      causes.push('expired');
      notes.push(`${c.name} expired before the callback (${Math.round(ageMs / 1000)} s after login start)`);
    }
    if (c.name.length + c.valueRef.length > 4096) {
      causes.push('too_large');
      notes.push(`${c.name} is ${c.name.length + c.valueRef.length} bytes; browsers drop cookies over 4096`);
    }
    out.push({ name: c.name, attributes: a, causes: causes.length ? causes : ['unknown'], notes });
  }
  return out;
}
