/**
 * §1.14 Device flow, PAR, introspection/revocation (R63–R65): device-code polling that ignores the
 * interval, slow_down or a terminal answer; PAR request_uris reused, expired or skipped; and token
 * management calls without client authentication or with a wrong token_type_hint.
 */
import { isSuccess } from '../facts.js';
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { baseEvidence, errorText, seconds } from './responses-util.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DEVICE_FIX = 'Poll with grant_type=urn:ietf:params:oauth:grant-type:device_code no faster than the interval of the device authorization response (default 5 s), add 5 s after every slow_down for all later polls, and stop on expired_token, access_denied or after expires_in.';
const TERMINAL = new Set(['expired_token', 'access_denied', 'device_flow_disabled', 'incorrect_device_code']);

const lifeMs = (e: AnalyzedExchange | undefined): number | undefined => {
  const v = e?.tokenResponse?.expiresIn;
  const n = typeof v === 'string' ? Number(v) : v;
  return n !== undefined && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
};

/** The device authorization response that issued this device_code (same fp), when observed recently on this host. */
function deviceAuthorization(ex: AnalyzedExchange, ctx: RuleContext): AnalyzedExchange | undefined {
  const fp = ex.deviceCode?.fp;
  return ctx.correlation.sameHostEarlier.filter((x) => x.kind === 'device_authorization'
    && x.tokenResponse?.otherTokens.some((t) => t.name === 'device_code' && t.ref.fp === fp)).at(-1);
}

function devicePoll(ex: AnalyzedExchange): boolean {
  return !!ex.deviceCode && (ex.grantType === DEVICE_GRANT || ex.grantType === 'device_code' || /device_code/.test(ex.grantType ?? ''));
}

const pollingViolation: Rule = {
  code: 'device.polling_violation', family: 'device-par', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    if (!devicePoll(ex)) return [];
    const draft = (sub: string, title: string, text: string, severity: 'error' | 'warning', ids: string[], extra: Record<string, unknown> = {}): FindingDraft[] => [{
      code: 'device.polling_violation', severity, title, detail: `${text} ${DEVICE_FIX}`, fix: DEVICE_FIX,
      evidence: { ...baseEvidence(ex), pattern: sub, device_code: ex.deviceCode?.display, ...extra },
      confidence: 'high', exchangeIds: [...ids, ex.id],
    }];
    if (ex.grantType !== DEVICE_GRANT) {
      return draft('grant_type', `Device poll with grant_type "${ex.grantType}" instead of the URN`,
        `The device-code poll sends grant_type=${ex.grantType}; RFC 8628 §3.4 requires ${DEVICE_GRANT}${ex.providerError?.error ? ` and the AS answered ${errorText(ex)}` : ''}.`, 'error', []);
    }
    const polls = ctx.correlation.sameClientEarlier.filter((x) => x.deviceCode?.fp === ex.deviceCode?.fp);
    const terminal = polls.find((x) => TERMINAL.has(x.providerError?.error ?? ''));
    if (terminal) {
      return draft('after_terminal', `Device polling continues after ${terminal.providerError?.error}`,
        `Poll ${terminal.id} already got ${errorText(terminal)}, a final answer for this device_code, yet the client polls again ${seconds(ex.at - terminal.at)} later.`, 'error', [terminal.id], { terminal: terminal.providerError?.error });
    }
    const authz = deviceAuthorization(ex, ctx);
    const life = lifeMs(authz);
    if (authz && life !== undefined && ex.at > authz.at + life) {
      return draft('after_expiry', 'Device polling after the device_code expired',
        `The device authorization ${authz.id} gave expires_in ${life / 1000} s; this poll comes ${seconds(ex.at - authz.at)} after it.`, 'error', [authz.id]);
    }
    const prev = polls.at(-1);
    const gh = ex.provider === 'github' && ex.clientAuth.clientSecret && !ex.clientAuth.methods.includes('basic');
    const unneeded = () => (gh ? draft('unneeded_secret', 'GitHub device polling sends a client_secret',
      'GitHub\'s device flow needs only client_id and device_code; the client_secret sent with every poll is unneeded exposure (device-flow apps usually cannot keep a secret).', 'warning', []) : []);
    if (!prev) return unneeded();
    const slowDowns = polls.filter((x) => x.providerError?.error === 'slow_down').length;
    const base = authz?.tokenResponse?.interval ?? 5;
    const interval = (base + 5 * slowDowns) * 1000;
    const gap = ex.at - prev.at;
    // 10% tolerance for timer jitter.
    if (gap >= interval * 0.9) return unneeded();
    const slowed = ex.providerError?.error === 'slow_down';
    return draft('too_fast', `Device polling every ${seconds(gap)}, the interval is ${interval / 1000} s`,
      `This poll came ${seconds(gap)} after the previous one (${prev.id}) for the same device_code, but the interval is ${interval / 1000} s (${authz ? `${base} s from ${authz.id}` : 'default 5 s'}${slowDowns ? ` plus 5 s for each of ${slowDowns} slow_down answer(s)` : ''}).${slowed ? ' The AS answered slow_down.' : ''}`,
      slowed || slowDowns ? 'error' : 'warning', [prev.id], { gap_ms: Math.round(gap), interval_ms: interval, slow_downs: slowDowns });
  },
};

const PAR_FIX = 'Push the authorization request to the PAR endpoint for every login, then redirect with only client_id and the fresh request_uri, once, before its expires_in; authenticate the PAR request like a token request.';

const parMisuse: Rule = {
  code: 'par.request_uri_misuse', family: 'device-par', severity: 'error', kinds: ['authorize', 'par'],
  check(ex, ctx) {
    const draft = (sub: string, title: string, text: string, ids: string[], severity: 'error' | 'warning' = 'error', confidence: 'high' | 'medium' = 'high', extra: Record<string, unknown> = {}): FindingDraft[] => [{
      code: 'par.request_uri_misuse', severity, title, detail: `${text} ${PAR_FIX}`, fix: PAR_FIX,
      evidence: { ...baseEvidence(ex), pattern: sub, ...extra }, confidence, exchangeIds: [...ids, ex.id],
    }];
    if (ex.kind === 'par') {
      if (!ex.response) return [];
      if (ex.clientAuth.methods.includes('none') && (ex.response.status === 401 || ex.providerError?.error === 'invalid_client')) {
        return draft('unauthenticated', `PAR request without client authentication rejected (${errorText(ex)})`,
          'The pushed authorization request carries no client authentication; RFC 9126 §2.1 requires the same authentication as at the token endpoint.', []);
      }
      const hasUri = ex.secrets.some((s) => s.place.startsWith('response') && s.name === 'request_uri') || /request_uri/.test(JSON.stringify(ex.response.json ?? ''));
      if (ex.response.status === 200 && hasUri) {
        return draft('not_201', 'PAR success answered 200 instead of 201', 'The PAR endpoint returned its request_uri with HTTP 200; RFC 9126 §2.2 specifies 201 Created, and strict clients treat anything else as failure.', [], 'warning');
      }
      return [];
    }
    const authz = ex.authorize;
    if (!authz) return [];
    const meta = ctx.correlation.discovery;
    if (!authz.requestUri) {
      if (!meta?.requirePar) return [];
      return draft('par_required', 'Authorization request without PAR although the AS requires it',
        `The discovery metadata of ${meta.issuer} sets require_pushed_authorization_requests: true, but this authorization request carries its parameters directly instead of a request_uri.`, [meta.exchangeId]);
    }
    const uri = authz.requestUri;
    const reused = ctx.correlation.recentAuthorizes.filter((a) => a.authorize?.requestUri?.fp === uri.fp);
    if (reused.length) {
      return draft('reused', 'PAR request_uri used more than once',
        `The request_uri ${uri.display} was already used by authorization request ${reused[0]!.id} ${seconds(ex.at - reused[0]!.at)} earlier; request_uris are one-time references (RFC 9126 §4): a reload or a second tab replays it.`, reused.map((r) => r.id), 'error', 'high', { request_uri: uri.display });
    }
    // The PAR response that issued this request_uri (same fp), else this client's latest PAR (medium confidence).
    const issued = (x: AnalyzedExchange) => x.secrets.some((o) => o.place.startsWith('response') && o.name === 'request_uri' && o.ref.fp === uri.fp);
    const pars = ctx.correlation.sameHostEarlier.filter((x) => x.kind === 'par' && isSuccess(x));
    const byFp = pars.filter(issued).at(-1);
    const par = byFp ?? pars.filter((x) => !x.clientId || !authz.clientId || x.clientId === authz.clientId).at(-1);
    if (byFp && byFp.clientId && authz.clientId && byFp.clientId !== authz.clientId) {
      return draft('client_mismatch', 'PAR request_uri used with another client_id',
        `The request_uri ${uri.display} was pushed by client ${byFp.clientId} (${byFp.id}) but the authorization request names client_id ${authz.clientId}; the AS must reject it (RFC 9126 §4).`, [byFp.id], 'error', 'high', { request_uri: uri.display, par_client_id: byFp.clientId });
    }
    const life = lifeMs(par);
    if (par && life !== undefined && ex.at > par.at + life) {
      return draft('expired', 'PAR request_uri used after it expired',
        `The PAR response ${par.id} gave expires_in ${life / 1000} s, but the browser reached the authorization endpoint ${seconds(ex.at - par.at)} later${ex.providerError?.error ? `; the AS answered ${errorText(ex)}` : ''}.`, [par.id], 'error', byFp ? 'high' : 'medium', { request_uri: uri.display, expires_in_s: life / 1000 });
    }
    return [];
  },
};

const MGMT_FIX = 'Authenticate introspection and revocation calls like token requests (RFC 7662 §2.1, RFC 7009 §2.1), send token_type_hint only as access_token or refresh_token and matching the token, and do not read a revocation 200 as proof the token existed.';

const endpointMisuse: Rule = {
  code: 'token_mgmt.endpoint_misuse', family: 'device-par', severity: 'warning', kinds: ['introspection', 'revocation'],
  check(ex) {
    const draft = (sub: string, severity: 'error' | 'warning', title: string, text: string): FindingDraft[] => [{
      code: 'token_mgmt.endpoint_misuse', severity, title, detail: `${text} ${MGMT_FIX}`, fix: MGMT_FIX,
      evidence: { ...baseEvidence(ex), pattern: sub, token_type_hint: ex.tokenTypeHint ?? null, client_auth: ex.clientAuth.methods },
      confidence: 'high', exchangeIds: [ex.id],
    }];
    const unauthenticated = ex.clientAuth.methods.includes('none') && !ex.request.bearer;
    if (ex.kind === 'introspection' && unauthenticated) {
      const rejected = ex.response?.status === 401 || ex.providerError?.error === 'invalid_client';
      return draft('unauthenticated_introspection', 'error', `Token introspection without client authentication${rejected ? ` (${errorText(ex)})` : ''}`,
        `The introspection request carries neither client credentials nor a bearer token; RFC 7662 §2.1 requires the protected resource to authenticate${rejected ? ', and the AS refused it' : ', and an AS that answers anyway leaks token state to anyone'}.`);
    }
    const hint = ex.tokenTypeHint;
    if (ex.providerError?.error === 'unsupported_token_type') {
      return draft('unsupported_token_type', 'warning', `${ex.kind === 'revocation' ? 'Revocation' : 'Introspection'} rejected: unsupported_token_type${hint ? ` (hint ${hint})` : ''}`,
        `The AS answered unsupported_token_type${hint ? ` for token_type_hint=${hint}` : ''}: it cannot ${ex.kind === 'revocation' ? 'revoke' : 'introspect'} this kind of token (many ASes revoke only refresh tokens), or the hint names the wrong kind.`);
    }
    if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') {
      return draft('wrong_hint', 'warning', `token_type_hint "${hint}" is not a registered value`,
        `token_type_hint=${hint} is not access_token or refresh_token (RFC 7009 §2.1, RFC 7662 §2.1); ASes ignore or reject unknown hints.`);
    }
    if (ex.kind === 'revocation' && unauthenticated && (ex.response?.status === 401 || ex.providerError?.error === 'invalid_client')) {
      return draft('unauthenticated_revocation', 'warning', `Token revocation without client authentication (${errorText(ex)})`,
        'The revocation request carries no client credentials; confidential clients must authenticate (RFC 7009 §2.1), public clients must send client_id.');
    }
    return [];
  },
};

export const rules: Rule[] = [pollingViolation, parMisuse, endpointMisuse];
