/**
 * Authorization-code lifecycle (oauth-rules.md §1.3, R16–R21): a code is single-use, short-lived,
 * must reach the token endpoint byte-exact, at the AS that issued it, from the client it was issued
 * to — and there is no code at all when the authorization response carried an error.
 */
import type { AnalyzedExchange, SecretRef } from '../types.js';
import type { FindingDraft, Rule } from './types.js';
import {
  ambiguousCodeSignal, asErrorEvidence, codeLifetime, codeRejected, duration, errorText, exchangeIds, explainAlteration, hasAadsts,
  hintFor, isBogus, isCodeExchange, iso, issuedCodes, linkConfidence, outcome, reachedAs, sameAuthorizationServer, succeeded,
  withBaseEvidence,
} from './code-util.js';
import { authorizeErrorReturned } from './code-authorize-error.js';

const REUSE_HINTS: Record<string, string> = {
  entra: 'Entra answers AADSTS54005 ("Authorization code was already redeemed"); in ASP.NET, tell the middleware you redeemed the code yourself (HandleCodeRedemption) so it does not redeem it again.',
  google: 'Google answers invalid_grant "Bad Request" to a used code.',
  github: 'GitHub answers bad_verification_code inside an HTTP 200.',
  facebook: 'Facebook answers OAuthException code 100 "This authorization code has been used."',
  keycloak: 'Keycloak answers invalid_grant "Code not valid".',
  cognito: 'Cognito codes are single-use and answer invalid_grant on reuse.',
  apple: 'Apple answers invalid_grant for a previously used code.',
  slack: 'Slack answers ok:false, error "invalid_code".',
};

const codeReused: Rule = {
  code: 'code.reused',
  family: 'code',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    if (!isCodeExchange(ex) || !ex.code || isBogus(ex.code)) return [];
    const earlier = ctx.correlation.sameCodeEarlier.filter(reachedAs);
    const first = earlier[0];
    if (!first) return signalOnlyReuse(ex, issuedCodes(ctx).length > 0);
    // A retry that succeeded after attempts that all failed: the AS did not consume the code, nothing to fix here.
    if (succeeded(ex) && !earlier.some(succeeded)) return [];
    const dt = ex.at - first.at;
    const callbacks = ctx.correlation.callbacks.filter((c) => c.authorizeResponse?.code?.fp === ex.code?.fp);
    const causes: string[] = [];
    if (callbacks.length >= 2) causes.push('double_callback');
    if (dt <= 1000 && first.clientId === ex.clientId) causes.push('in_process_duplicate');
    const firstFailedUpstream = !!first.transportError || (first.response?.status ?? 0) >= 500;
    if (firstFailedUpstream) causes.push('retry_after_failure');
    if (first.response?.status === 401 && first.clientAuth.methods.includes('basic') && !ex.clientAuth.methods.includes('basic')) {
      causes.push('authstyle_probe');
    }
    const firstSucceeded = succeeded(first) && !!first.tokenResponse?.accessToken;
    const because: Record<string, string> = {
      double_callback: `the callback ran ${callbacks.length} times with this code (page reload, back button, a double-mounted effect in dev mode, link prefetch, or two route handlers)`,
      in_process_duplicate: `both requests came ${duration(dt)} apart from the same client — two code paths (e.g. the framework handler plus custom code) redeem the same code`,
      retry_after_failure: `the first attempt ended with ${outcome(first)} and was retried blindly; the AS may already have consumed the code (see retry.masked_original_failure)`,
      authstyle_probe: 'the first attempt used HTTP Basic and got 401, then the client retried with credentials in the body — the first attempt may have consumed the code; set the auth style explicitly',
    };
    const why = causes.map((c) => because[c]).join('; ');
    const fix = firstSucceeded
      ? 'The first exchange already succeeded: use its tokens. Make the code exchange idempotent per code/state and ignore repeat callbacks after success.'
      : 'Make the exchange idempotent per code (dedupe on state/code server-side; ignore repeat callbacks), set the client auth style explicitly, and never blindly retry a code exchange.';
    const accepted = succeeded(ex);
    return [{
      code: 'code.reused',
      severity: 'error',
      title: `Authorization code presented ${earlier.length + 1} times (again after ${duration(dt)})`,
      detail: `This token request redeems an authorization code that exchange ${first.id} already presented ${duration(dt)} earlier (${outcome(first)}); this attempt got ${outcome(ex)}. `
        + 'RFC 6749 §4.1.2: a client MUST NOT use a code more than once, and the AS must deny the second use and should revoke tokens issued from it.'
        + (why ? ` Likely cause: ${why}.` : '')
        + (accepted ? ' The AS accepted the second use, which a conforming AS must not do.' : '')
        + hintFor(ex, REUSE_HINTS) + ` Fix: ${fix}`,
      fix,
      evidence: {
        code: ex.code.display,
        firstExchange: { id: first.id, at: iso(first.at), outcome: outcome(first), userAgent: first.request.userAgent, clientAuth: first.clientAuth.methods },
        thisExchange: { id: ex.id, at: iso(ex.at), outcome: outcome(ex), userAgent: ex.request.userAgent, clientAuth: ex.clientAuth.methods },
        deltaMs: dt,
        presentations: earlier.length + 1,
        callbacksWithThisCode: callbacks.length,
        ...(causes.length ? { causes: causes.map((c) => `#${c}`) } : {}),
        ...(asErrorEvidence(ex) ? { as_error: asErrorEvidence(ex) } : {}),
      },
      confidence: 'high',
      exchangeIds: exchangeIds(...earlier, ...callbacks, ex),
    }];
  },
};

/**
 * The AS says the code was used, but the first use passed outside the lens. An ambiguous
 * "used or expired" answer counts only when the lens did not see the code issued either.
 */
function signalOnlyReuse(ex: AnalyzedExchange, issuedSeen: boolean): FindingDraft[] {
  const fb = ex.providerError?.facebook;
  const fbUsed = fb?.code === 100 && /used/i.test(fb.message ?? '');
  const ambiguous = issuedSeen ? undefined : ambiguousCodeSignal(ex);
  if (!hasAadsts(ex, '54005') && !fbUsed && !ambiguous) return [];
  const fix = 'Redeem each code once: find the other place that redeems it (framework middleware, a retry, a second callback) and remove it.';
  const said = ambiguous
    ? `The AS answered ${outcome(ex)} (${ambiguous}), which means the code was already used or has expired; the lens saw neither the authorization response nor an earlier redemption, so it cannot tell which (see also code.expired). If used: another request redeemed it outside the lens (another process, a retry, or before capture started).`
    : `The AS answered ${outcome(ex)}: the code was redeemed before, by a request that did not pass through the lens (another process, or before capture started).`;
  return [{
    code: 'code.reused',
    severity: 'error',
    title: ambiguous ? 'The code was rejected as used or expired (probably reused)' : 'The authorization server says this code was already redeemed',
    detail: `${said} ` + hintFor(ex, REUSE_HINTS) + ` Fix: ${fix}`,
    fix,
    evidence: { code: ex.code?.display, as_error: asErrorEvidence(ex) },
    confidence: 'medium',
    exchangeIds: [ex.id],
  }];
}

const EXPIRY_HINTS: Record<string, string> = {
  entra: 'Entra codes last about 10 minutes and answer AADSTS70008 when expired.',
  github: 'GitHub codes expire after 10 minutes (bad_verification_code "The code passed is incorrect or expired.").',
  cognito: 'Cognito codes are valid for 5 minutes.',
  facebook: 'Facebook answers "This authorization code has expired."',
};

const codeExpired: Rule = {
  code: 'code.expired',
  family: 'code',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    if (!isCodeExchange(ex) || isBogus(ex.code)) return [];
    const issued = issuedCodes(ctx).filter((c) => c.ref.fp === ex.code?.fp).map((c) => c.from);
    issued.sort((a, b) => a.at - b.at);
    const from = issued[0];
    const rejected = codeRejected(ex);
    const { ms: lifetime, source } = codeLifetime(ex, ctx);
    const fix = 'Exchange the code synchronously inside the callback handler; do not queue codes or hold them across a breakpoint, job queue or cold start.';
    if (!from) {
      // No callback seen: only the provider's own statement.
      const fbExpired = /expired/i.test(ex.providerError?.facebook?.message ?? '');
      const ambiguous = issuedCodes(ctx).length ? undefined : ambiguousCodeSignal(ex);
      if (ctx.correlation.sameCodeEarlier.length || !(hasAadsts(ex, '70008') || fbExpired || ambiguous)) return [];
      return [draft(ex, undefined, 'error', 'medium', ambiguous ? 'The code was rejected as used or expired (possibly expired)' : 'The authorization server says the code expired',
        (ambiguous
          ? `The AS answered ${outcome(ex)} (${ambiguous}), which means the code was already used or has expired; the authorization response was not captured, so the lens cannot measure the delay (see also code.reused).`
          : `The AS answered ${outcome(ex)}: the authorization code expired before it was redeemed (the authorization response was not captured, so the delay is unknown).`)
          + hintFor(ex, EXPIRY_HINTS) + ` Fix: ${fix}`, fix, { lifetimeMs: lifetime, lifetimeSource: source })];
    }
    const dt = ex.at - from.at;
    const evidence = { issuedAt: iso(from.at), redeemedAt: iso(ex.at), deltaMs: dt, lifetimeMs: lifetime, lifetimeSource: source };
    if (dt > lifetime && rejected) {
      return [draft(ex, from, 'error', 'high', `Authorization code redeemed ${duration(dt)} after it was issued (lifetime ${duration(lifetime)})`,
        `The code was issued at ${evidence.issuedAt} (exchange ${from.id}) and redeemed ${duration(dt)} later, beyond its ${duration(lifetime)} lifetime (${source}); the AS answered ${outcome(ex)}.`
          + hintFor(ex, EXPIRY_HINTS) + ` Fix: ${fix}`, fix, evidence)];
    }
    if (dt > ctx.thresholds.slowExchangeMs) {
      const expiredAnyway = rejected && !ctx.correlation.sameCodeEarlier.length;
      return [draft(ex, from, expiredAnyway ? 'error' : 'warning', expiredAnyway ? 'medium' : 'high',
        `Slow code exchange: ${duration(dt)} between authorization response and token request`,
        `The code was redeemed ${duration(dt)} after the authorization response (exchange ${from.id}); more than ${duration(ctx.thresholds.slowExchangeMs)} usually means a breakpoint, a job queue or a cold start between callback and token call (#slow_exchange).`
          + (expiredAnyway ? ` The AS rejected it (${outcome(ex)}), so its code lifetime is probably shorter than the assumed ${duration(lifetime)}.` : ` It ${rejected ? 'failed for another reason' : 'still succeeded'}, but codes live only ${duration(lifetime)}.`)
          + hintFor(ex, EXPIRY_HINTS) + ` Fix: ${fix}`, fix, { ...evidence, subDiagnosis: '#slow_exchange' })];
    }
    return [];
  },
};

function draft(ex: AnalyzedExchange, from: AnalyzedExchange | undefined, severity: FindingDraft['severity'], confidence: FindingDraft['confidence'],
  title: string, detail: string, fix: string, evidence: Record<string, unknown>): FindingDraft {
  const asError = asErrorEvidence(ex);
  return {
    code: 'code.expired', severity, title, detail, fix, confidence,
    evidence: { code: ex.code?.display, ...evidence, ...(asError ? { as_error: asError } : {}) },
    exchangeIds: exchangeIds(from, ex),
  };
}

const codeAltered: Rule = {
  code: 'code.altered',
  family: 'code',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    const sent = ex.code;
    if (!isCodeExchange(ex) || !sent || sent.length === 0) return [];
    const issued = issuedCodes(ctx);
    if (issued.some((c) => c.ref.fp === sent.fp)) return [];
    const stateRefs = [ctx.correlation.authorize?.authorize?.state, ctx.correlation.authorizeResponse?.authorizeResponse?.state]
      .filter((s): s is SecretRef => !!s);
    for (const { ref, from } of issued) {
      const how = explainAlteration(sent, ref, stateRefs);
      if (how) return [altered(ex, from, sent, ref, how, 'high')];
    }
    const state = stateRefs.find((s) => sent.variants?.as_state === s.fp);
    if (state) return [altered(ex, ctx.correlation.authorize, sent, undefined, { transform: 'state_as_code', text: 'the state value was sent as the code' }, 'high')];
    // No issued code to compare with: a code that still holds %XX after one decode, rejected as malformed.
    const malformed = /malformed/.test(errorText(ex)) && codeRejected(ex);
    if (malformed || (sent.variants?.decoded && codeRejected(ex))) {
      return [altered(ex, undefined, sent, undefined, {
        transform: sent.variants?.decoded ? 'extra_encoding' : 'unknown',
        text: sent.variants?.decoded ? 'the code still contains %-escapes after the form decode, i.e. it was URL-encoded before being put into the form (Google codes start with "4/", sent as "4%2F…")' : 'the AS reports a malformed code',
      }, 'medium')];
    }
    if (sent.anomalies.includes('literal') || sent.anomalies.includes('placeholder')) {
      return [altered(ex, undefined, sent, undefined, { transform: 'literal', text: `the code is a literal or placeholder (${sent.anomalies.join(', ')}), not the value from the callback` }, 'high')];
    }
    return [];
  },
};

function altered(ex: AnalyzedExchange, from: AnalyzedExchange | undefined, sent: SecretRef, issued: SecretRef | undefined,
  how: { transform: string; text: string }, confidence: FindingDraft['confidence']): FindingDraft {
  const fix = 'Pass the framework-decoded query value of `code` to the token call unchanged; never URL-encode it yourself before a form encoder, trim it, or quote it.';
  const google = ex.provider === 'google' ? ' Google codes start with "4/" and answer invalid_grant "Malformed auth code." when altered.' : '';
  return {
    code: 'code.altered',
    severity: 'error',
    title: `Authorization code altered before redemption (${how.transform.replace(/_/g, ' ')})`,
    detail: `The code sent to the token endpoint is not the code the authorization server issued: ${how.text}. The AS answered ${outcome(ex)}.${google} Fix: ${fix}`,
    fix,
    evidence: {
      sent: { display: sent.display, length: sent.length, shape: sent.shape, anomalies: sent.anomalies },
      ...(issued ? { issued: { display: issued.display, length: issued.length, shape: issued.shape } } : {}),
      transform: how.transform,
      ...(asErrorEvidence(ex) ? { as_error: asErrorEvidence(ex) } : {}),
    },
    confidence,
    exchangeIds: exchangeIds(from, ex),
  };
}

const codeWrongIssuer: Rule = {
  code: 'code.redeemed_at_wrong_issuer',
  family: 'code',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    if (!isCodeExchange(ex)) return [];
    const fix = 'Derive the authorize and token endpoints from the same issuer metadata (same tenant, realm, region and environment); never send a code to another host.';
    const entraSignal = hasAadsts(ex, '700005');
    const authz = ctx.correlation.authorize;
    const resp = ctx.correlation.authorizeResponse;
    const issuedBy = resp?.authorizeResponse?.iss ?? authz?.issuer;
    const same = issuedBy === undefined ? undefined : sameAuthorizationServer(issuedBy, authz, ex, ctx);
    if (same !== false && !entraSignal) return [];
    // A fallback link (same client_id, recent) may be another flow: only trust it when the AS refused the code.
    if (!entraSignal && ctx.correlation.authorizeLink === 'fallback' && !resp?.authorizeResponse?.iss && !codeRejected(ex)) return [];
    const envOf = (issuer: string | undefined) => ctx.config.clients.find((c) => c.issuer && issuer && stripSlash(c.issuer) === stripSlash(issuer))?.name;
    const from = envOf(issuedBy);
    const to = envOf(ex.issuer);
    const envText = from && to && from !== to ? ` (configured environments: issued by "${from}", redeemed at "${to}")` : '';
    return [{
      code: 'code.redeemed_at_wrong_issuer',
      severity: 'error',
      title: same === false ? `Code issued by ${issuedBy} redeemed at ${ex.issuer}` : 'The code was redeemed at another tenant than issued it',
      detail: (same === false
        ? `The authorization code came from ${issuedBy}${resp?.authorizeResponse?.iss ? ' (iss of the authorization response)' : ' (the authorize request)'} but was sent to the token endpoint of ${ex.issuer}${envText}. A code is only valid at the AS that issued it (other tenant, realm, region or environment), and sending it elsewhere is the mix-up attack of RFC 9700 §4.4.`
        : `The AS answered ${outcome(ex)}: the code must be redeemed against the same tenant it was acquired for.`)
        + (entraSignal ? ' Entra says so with AADSTS700005.' : '') + ` Fix: ${fix}`,
      fix,
      evidence: {
        issuedBy, redeemedAt: ex.issuer, tokenEndpoint: ex.request.url.base,
        ...(authz ? { authorizeEndpoint: authz.request.url.base } : {}),
        ...(resp?.authorizeResponse?.iss ? { iss: resp.authorizeResponse.iss } : {}),
        ...(from || to ? { environments: { issuedBy: from, redeemedAt: to } } : {}),
        ...(asErrorEvidence(ex) ? { as_error: asErrorEvidence(ex) } : {}),
      },
      confidence: entraSignal || (same === false && ctx.correlation.authorizeLink !== 'fallback') ? 'high' : 'medium',
      exchangeIds: exchangeIds(authz, resp, ex),
    }];
  },
};

function stripSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

const codeClientMismatch: Rule = {
  code: 'code.client_mismatch',
  family: 'code',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    const authz = ctx.correlation.authorize;
    const issuedTo = authz?.authorize?.clientId ?? authz?.clientId;
    if (!isCodeExchange(ex) || !authz || !issuedTo || !ex.clientId || ex.clientId === issuedTo) return [];
    if (ex.clientId.trim() === issuedTo.trim()) return []; // whitespace: client_credentials.suspicious_value says it better
    const fix = 'Use one client registration for the whole flow: the client_id of the token request must be the one of the authorize request (check configs with separate web/mobile/staging client ids).';
    const caseOnly = ex.clientId.toLowerCase() === issuedTo.toLowerCase() ? ' They differ only in letter case; client ids are compared exactly.' : '';
    return [{
      code: 'code.client_mismatch',
      severity: 'error',
      title: `Code issued to client ${issuedTo} redeemed by client ${ex.clientId}`,
      detail: `The authorize request (exchange ${authz.id}) asked for a code for client_id "${issuedTo}", but the token request authenticates as "${ex.clientId}" (via ${ex.clientAuth.methods.join('+')}).${caseOnly} RFC 6749 §4.1.3: the AS must ensure the code was issued to the authenticated client, so it answers invalid_grant. The AS answered ${outcome(ex)}. Fix: ${fix}`,
      fix,
      evidence: {
        authorizeClientId: issuedTo, tokenClientId: ex.clientId,
        tokenClientIdSource: ex.clientAuth.bodyClientId !== undefined ? 'body' : ex.clientAuth.basic?.clientId !== undefined ? 'basic' : 'assertion',
        authorizeLink: ctx.correlation.authorizeLink,
        ...(asErrorEvidence(ex) ? { as_error: asErrorEvidence(ex) } : {}),
      },
      confidence: linkConfidence(ctx),
      exchangeIds: exchangeIds(authz, ex),
    }];
  },
};

export const rules: Rule[] = [codeReused, codeExpired, codeAltered, codeWrongIssuer, codeClientMismatch, authorizeErrorReturned].map(withBaseEvidence);
