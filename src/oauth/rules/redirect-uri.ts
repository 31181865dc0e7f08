/**
 * redirect_uri rules, oauth-rules.md §1.1 (R01–R08). Exact-match servers (RFC 9700 §2.1, RFC 6749
 * §4.1.3) compare redirect_uri byte for byte; these rules say precisely how two values differ.
 */
import type { Severity } from '../../model.js';
import type { AnalyzedExchange, FindingDraft, Rule, RuleContext } from './types.js';
import { accepted, asErrorEvidence, exchangeIds, providerName, rejected, where } from './provider-signals.js';
import { analyseRedirect, type RedirectAnalysis, type RedirectDiff } from './redirect-uri-analysis.js';
import {
  CLASS_CODE, CLASS_LABEL, alignedDiff, isLoopbackName, splitUri, type DiffClass,
} from './redirect-uri-util.js';

const KINDS = ['authorize', 'token'] as const;

const WHERE: Record<RedirectDiff['comparison'], string> = {
  authorize_vs_token: 'between the authorize request and the token request',
  callback_vs_token: 'between the callback the browser followed and the token request',
  registered_vs_authorize: 'from the registered redirect URI',
  registered_vs_token: 'from the registered redirect URI',
};

const FIX: Record<DiffClass, string> = {
  trailing_slash: 'Build the callback URL from one constant used for both the authorize redirect and the token request, and register exactly that string.',
  scheme: 'Set the public base URL explicitly in the auth library (or trust the load balancer\'s X-Forwarded-Proto), make the token request reuse the same computed value, and register https only.',
  host_port: 'Pin the public host and port in configuration instead of deriving them from the inbound Host header; native apps should use 127.0.0.1 or [::1] rather than localhost.',
  case_encoding: 'Hand the raw callback URL to the URL builder or OAuth library exactly once (no pre-encoding), and register it with the exact case.',
  path_query: 'Keep redirect_uri static per client and carry per-request data (return URL, locale, tenant) in state or a server-side record keyed by state.',
};

function hint(cls: DiffClass, ex: AnalyzedExchange, d: RedirectDiff, ctx: RuleContext): string {
  const provider = ex.provider ?? d.related[0]?.provider;
  switch (cls) {
    case 'trailing_slash':
      return provider === 'github'
        ? ' GitHub accepts any sub-path of the registered callback on the authorize leg, which hides this until the same code meets a strict provider.'
        : ' "…/callback" and "…/callback/" are different URIs to exact-match servers (Entra, Google, Keycloak, Cognito, Auth0).';
    case 'scheme':
      return behindTlsProxy(d, ctx)
        ? ' The browser reached this host over https, so the app is behind a TLS-terminating proxy and builds the URL from the inbound http scheme.'
        : ' Some libraries recompute the URL for the token leg, so a value fixed in the browser can still fail at the token endpoint.';
    case 'host_port':
      if (d.diff.loopbackPortOnly) return ' Both are loopback IP literals: RFC 8252 §7.3 says the AS must accept any port for them.';
      return d.diff.notes.some((n) => n.startsWith('loopback') || n.startsWith('apex'))
        ? ' Switching localhost/127.0.0.1 or hosts between login and callback also drops the state cookie (state.cookie_not_sent).'
        : '';
    case 'case_encoding':
      return ' A value encoded twice (https%253A…) or sent unencoded (its own "&" splits the authorize URL) reaches the AS changed.';
    case 'path_query':
      return provider === 'facebook'
        ? ' The Facebook JS SDK uses the current page URL as redirect_uri, so a backend exchange with the configured value fails ("Please make sure your redirect_uri is identical…").'
        : '';
  }
}

/** R02 #behind_tls_proxy: redirect_uri says http://H while the browser's own requests to H are https. */
function behindTlsProxy(d: RedirectDiff, ctx: RuleContext): boolean {
  const httpSide = [d.reference, d.value].map(splitUri).find((p) => p.scheme.toLowerCase() === 'http');
  if (!httpSide) return false;
  const browser = [ctx.correlation.authorizeResponse, ...ctx.correlation.callbacks].filter((e): e is AnalyzedExchange => !!e);
  return browser.some((e) => e.request.url.scheme === 'https' && e.request.url.host === httpSide.host.toLowerCase());
}

function severityFor(cls: DiffClass, ex: AnalyzedExchange, d: RedirectDiff): Severity {
  if (cls === 'host_port' && d.diff.loopbackPortOnly && !rejected(ex)) return 'info';
  if (d.comparison !== 'registered_vs_authorize' && accepted(ex)) return 'warning';
  if (d.comparison === 'registered_vs_authorize' && issuedCode(ex)) return 'warning';
  return 'error';
}

/** The AS answered this authorize request with a code: it accepted the redirect_uri (prefix rule, or the config is stale). */
function issuedCode(ex: AnalyzedExchange): boolean {
  return ex.kind === 'authorize' && !!ex.authorizeResponse?.code;
}

const ACCEPTED_NOTE = ' The AS issued a code for it anyway: either the oauth-lens config is out of date or the AS matches loosely (GitHub accepts sub-paths), which a strict AS will not.';

function classRule(cls: DiffClass): Rule {
  const code = CLASS_CODE[cls];
  return {
    code, family: 'redirect-uri', severity: 'error', kinds: KINDS,
    check(ex, ctx) {
      const a = analyseRedirect(ex, ctx);
      const d = a.diff;
      if (!d || d.cls !== cls) return [];
      // A time-window pairing the AS accepted is more likely a different login than a real difference.
      if (a.authorizeLink === 'fallback' && d.comparison === 'authorize_vs_token' && accepted(ex)) return [];
      const severity = severityFor(cls, ex, d);
      const also = d.diff.classes.filter((c) => c !== cls).map((c) => CLASS_LABEL[c]);
      const sub = cls === 'scheme' && behindTlsProxy(d, ctx) ? 'behind_tls_proxy' : undefined;
      const tolerated = severity === 'warning'
        ? (issuedCode(ex) ? ACCEPTED_NOTE : ' This AS accepted it, but an exact-match server (RFC 9700 §2.1) rejects it.')
        : cls === 'host_port' && d.diff.loopbackPortOnly
          ? (rejected(ex) ? ' The AS rejected it, so it does not follow RFC 8252 §7.3.' : ' This is allowed for native apps, noted for context.')
          : '';
      const notes = d.diff.notes.join('; ');
      const why = `The redirect_uri differs ${WHERE[d.comparison]} in ${CLASS_LABEL[cls]}${also.length ? ` (also differs in ${also.join(', ')})` : ''}: `
        + `"${d.reference}" vs "${d.value}".${notes ? ` ${notes.charAt(0).toUpperCase()}${notes.slice(1)}.` : ''}`;
      return [{
        code, severity,
        title: `redirect_uri differs in ${CLASS_LABEL[cls]} ${WHERE[d.comparison]}`,
        detail: `${why}${tolerated}${hint(cls, ex, d, ctx)} Fix: ${FIX[cls]}`,
        fix: FIX[cls],
        evidence: {
          comparison: d.comparison,
          [d.referenceLabel]: d.reference,
          [d.valueLabel]: d.value,
          diff: alignedDiff(d.reference, d.value, [d.referenceLabel, d.valueLabel]),
          differences: d.diff.classes,
          notes: d.diff.notes,
          ...(sub ? { sub_diagnosis: sub } : {}),
          ...(d.related[0] ? { [`${d.related[0].kind}_exchange`]: where(d.related[0]) } : {}),
          ...(d.registered ? { registered: d.registered, environment: a.client?.name } : {}),
          ...(a.asSignal ? { as_signal: a.asSignal } : {}),
          ...asErrorField(ex, !!a.asSignal),
        },
        confidence: (d.comparison === 'authorize_vs_token' && a.authorizeLink !== 'fallback') || d.comparison === 'registered_vs_authorize' ? 'high' : 'medium',
        exchangeIds: exchangeIds(ex, ...d.related),
      }];
    },
  };
}

function asErrorField(ex: AnalyzedExchange, force = false): Record<string, unknown> {
  const e = rejected(ex) || force ? asErrorEvidence(ex) : undefined;
  return e ? { as_error: e } : {};
}

const missingInTokenRequest: Rule = {
  code: 'redirect_uri.missing_in_token_request', family: 'redirect-uri', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    const a = analyseRedirect(ex, ctx);
    if (a.role !== 'token' || a.sent) return [];
    const how = a.sent === '' ? 'sent it empty' : 'omitted it';
    const fix = 'Send the identical redirect_uri in the token request (RFC 6749 §4.1.3: REQUIRED when the authorize request included it; Google and others enforce this).';
    if (a.authorize && a.authorizeValue) {
      return [draft('redirect_uri.missing_in_token_request', 'error', a.authorizeLink === 'fallback' ? 'medium' : 'high', ex, [a.authorize],
        'redirect_uri missing from the code exchange',
        `The authorize request sent redirect_uri "${a.authorizeValue}" but the token request ${how}.`, fix,
        { authorize: a.authorizeValue, token: a.sent === '' ? '(empty)' : '(absent)', authorize_exchange: where(a.authorize), ...asErrorField(ex) })];
    }
    if (a.asSignal && rejected(ex)) {
      return [draft('redirect_uri.missing_in_token_request', 'error', 'medium', ex, [],
        'redirect_uri missing from the code exchange',
        `The AS rejected the code exchange over redirect_uri and the token request ${how}; the authorize request was not captured, so its value is unknown.`, fix,
        { token: a.sent === '' ? '(empty)' : '(absent)', as_signal: a.asSignal, ...asErrorField(ex) })];
    }
    return [];
  },
};

const notRegistered: Rule = {
  code: 'redirect_uri.not_registered', family: 'redirect-uri', severity: 'error', kinds: KINDS,
  check(ex, ctx) {
    const a = analyseRedirect(ex, ctx);
    if (!a.role || a.diff || !a.sent) return [];
    const fix = 'Register the exact redirect_uri string for this client in each environment (dev, staging and prod each need their own entry), or fix the app\'s public base URL.';
    const env = a.client ? ` (configuration "${a.client.name}")` : '';
    if (a.notRegistered) {
      const n = a.notRegistered;
      const near = n.nearest ? ` The nearest registered entry is "${n.nearest}" (differs in ${n.diff?.notes.join('; ') || 'several places'}).` : '';
      return [draft('redirect_uri.not_registered', issuedCode(ex) ? 'warning' : 'error', a.role === 'authorize' ? 'high' : 'medium', ex, [],
        'redirect_uri is not registered for this client',
        `The ${a.role} request uses redirect_uri "${n.value}", which is not byte-equal to any redirect URI registered for client_id ${ex.clientId ?? ex.authorize?.clientId ?? '?'}${env}.${near}${a.asSignal ? ' The AS rejected it too.' : ''}${issuedCode(ex) ? ACCEPTED_NOTE : ''} Fix: ${fix}`,
        fix, {
          redirect_uri: n.value, registered: n.registered, ...(n.nearest ? { nearest: n.nearest, differences: n.diff?.classes } : {}),
          environment: a.client?.name, ...(a.asSignal ? { as_signal: a.asSignal } : {}), ...asErrorField(ex),
        })];
    }
    // An authorize request answered with the AS's own page naming redirect_uri is the rejection itself.
    if (!a.asSignal || (a.role === 'token' && !rejected(ex))) return [];
    const same = a.authorizeValue !== undefined && a.authorizeValue === a.sent;
    const pv = providerName(ex);
    return [draft('redirect_uri.not_registered', 'error', a.role === 'authorize' ? 'high' : 'medium', ex, a.authorize ? [a.authorize] : [],
      'The AS rejected the redirect_uri',
      `${pv ?? 'The authorization server'} reported a redirect_uri mismatch (${a.asSignal}) for "${a.sent}"${same ? ', and the authorize and token requests used the same value, so the registration itself is missing it' : ''}.`
      + `${a.role === 'authorize' ? ' On an invalid redirect URI the AS must show its own error page instead of redirecting (RFC 6749 §4.1.2.1).' : ''}`
      + `${ex.provider === 'facebook' ? ' Facebook compares it with the redirect_uri of the OAuth dialog request; the JS SDK uses the current page URL there.' : ''}`
      + `${ctx.config.clients.length ? '' : ' Add the client\'s registered redirectUris to the oauth-lens config to see the nearest entry and the exact difference.'} Fix: ${fix}`,
      fix, { redirect_uri: a.sent, as_signal: a.asSignal, ...asErrorField(ex, true) })];
  },
};

const OAUTH_QUERY_NAMES = new Set(['code', 'state', 'access_token', 'id_token', 'token', 'error', 'iss', 'session_state', 'client_secret']);

function unsafeReasons(uri: string, publicClient: boolean): string[] {
  const p = splitUri(uri);
  const reasons: string[] = [];
  if (!p.absolute) return reasons;
  if (p.scheme.toLowerCase() === 'http' && !isLoopbackName(p.host)) reasons.push(`uses http on the non-loopback host ${p.host} (RFC 9700 §2.6)`);
  if (p.fragment !== undefined) reasons.push('contains a fragment (RFC 6749 §3.1.2: MUST NOT)');
  if (publicClient && p.host.toLowerCase() === 'localhost') reasons.push('uses "localhost" for a native app; use 127.0.0.1 or [::1] (RFC 8252 §8.3)');
  const names = (p.query ?? '').split('&').map((s) => decodeURIComponentSafe(s.split('=')[0] ?? ''));
  const clash = names.filter((n) => OAUTH_QUERY_NAMES.has(n));
  if (clash.length) reasons.push(`carries OAuth response parameter names in its query (${clash.join(', ')}), which collide with the authorization response`);
  if (uri.includes('*')) reasons.push('is a wildcard/pattern; register exact URIs (RFC 9700 §2.1)');
  return reasons;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const unsafeForm: Rule = {
  code: 'redirect_uri.unsafe_form', family: 'redirect-uri', severity: 'warning', kinds: KINDS,
  check(ex, ctx) {
    const a: RedirectAnalysis = analyseRedirect(ex, ctx);
    // On a code exchange only when the authorize request was not captured (it would say the same).
    if (!a.role || (a.role === 'token' && a.authorize)) return [];
    const publicClient = a.client?.type === 'public';
    const found: Array<{ uri: string; source: string; reasons: string[] }> = [];
    if (a.sent) {
      const reasons = unsafeReasons(a.sent, publicClient);
      if (reasons.length) found.push({ uri: a.sent, source: `${a.role} request`, reasons });
    }
    if (a.role === 'authorize') {
      for (const uri of a.client?.redirectUris ?? []) {
        if (uri === a.sent) continue;
        const reasons = unsafeReasons(uri, publicClient);
        if (reasons.length) found.push({ uri, source: `registered (${a.client?.name})`, reasons });
      }
    }
    if (!found.length) return [];
    const fix = 'Use https only, no fragment, a loopback IP literal for native apps, and exact registered URIs.';
    const text = found.map((f) => `"${f.uri}" (${f.source}) ${f.reasons.join('; ')}`).join('. ');
    return [draft('redirect_uri.unsafe_form', 'warning', 'high', ex, [], 'redirect_uri has an unsafe form',
      `${text}. Fix: ${fix}`, fix, { redirect_uris: found })];
  },
};

function draft(code: FindingDraft['code'], severity: Severity, confidence: FindingDraft['confidence'], ex: AnalyzedExchange,
  related: AnalyzedExchange[], title: string, detail: string, fix: string, evidence: Record<string, unknown>): FindingDraft {
  const full = detail.includes('Fix:') ? detail : `${detail} Fix: ${fix}`;
  return { code, severity, title, detail: full, fix, evidence, confidence, exchangeIds: exchangeIds(ex, ...related) };
}

export const rules: Rule[] = [
  classRule('trailing_slash'),
  classRule('scheme'),
  classRule('host_port'),
  classRule('case_encoding'),
  classRule('path_query'),
  missingInTokenRequest,
  notRegistered,
  unsafeForm,
];
