/**
 * PKCE (oauth-rules.md §1.7, R32–R36): the verifier of the code exchange against the challenge of
 * the authorize request the lens saw, RFC 7636 syntax, and PKCE that is weak or missing.
 */
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { asErrorEvidence, codeRejected, errorCode, errorText, exchangeIds, hasAadsts, isCodeExchange, linkConfidence, outcome, withBaseEvidence } from './code-util.js';
import { challengeProblems, explainMismatch, hasVerifier, isCodeFlow, verifierMatches, verifierProblems } from './pkce-util.js';

function withError(ex: AnalyzedExchange, extra: Record<string, unknown>): Record<string, unknown> {
  const asError = asErrorEvidence(ex);
  return { ...extra, ...(asError ? { as_error: asError } : {}) };
}

/** The correlated authorize request, when it carried a code_challenge. */
function challengedAuthorize(ctx: RuleContext): AnalyzedExchange | undefined {
  const authz = ctx.correlation.authorize;
  return authz?.pkce.codeChallenge ? authz : undefined;
}

function verifierEvidence(ex: AnalyzedExchange): Record<string, unknown> {
  const p = ex.pkce;
  return p.verifier
    ? { code_verifier: p.verifier.display, verifierLength: p.verifierLength ?? p.verifier.length, verifierCharsetValid: p.verifierCharsetValid, s256OfVerifier: p.verifierS256 }
    : { code_verifier: null };
}

const verifierMissing: Rule = {
  code: 'pkce.verifier_missing',
  family: 'pkce',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    if (!isCodeExchange(ex) || hasVerifier(ex.pkce)) return [];
    const authz = challengedAuthorize(ctx);
    const entra = hasAadsts(ex, '501481');
    const said = errorCode(ex) === 'invalid_request' && /code.?verifier/.test(errorText(ex));
    if (!authz && !entra && !said) return [];
    const fix = 'Store the code_verifier with the state in storage every app instance can read (not only in a cookie or in-memory session), and send it in the token request.';
    const sent = ex.pkce.verifier ? 'an empty code_verifier' : 'no code_verifier';
    return [{
      code: 'pkce.verifier_missing', severity: 'error',
      title: `Code exchange without code_verifier${authz ? ` although the authorize request sent a ${authz.pkce.codeChallengeMethod ?? 'plain'} code_challenge` : ''}`,
      detail: (authz
        ? `The authorize request (exchange ${authz.id}) sent code_challenge=${authz.pkce.codeChallenge} (method ${authz.pkce.codeChallengeMethod ?? 'omitted = plain'}), but the code exchange sent ${sent}; the AS must reject it (RFC 7636 §4.5, RFC 9700 §2.1.1).`
        : `The AS answered ${outcome(ex)} and the request sent ${sent}: the authorize request used PKCE (it was not captured).`)
        + ' Usual cause (#lost_verifier): the verifier was kept in a cookie or session that did not reach the callback (see state.cookie_not_sent), on another app instance without shared session storage, or lost in a restart mid-login.'
        + (entra ? ' Entra answers AADSTS501481 for a missing or wrong verifier.' : '')
        + ` The AS answered ${outcome(ex)}. Fix: ${fix}`,
      fix,
      evidence: withError(ex, { ...(authz ? { code_challenge: authz.pkce.codeChallenge, code_challenge_method: authz.pkce.codeChallengeMethod ?? null, authorizeLink: ctx.correlation.authorizeLink } : {}), code_verifier: ex.pkce.verifier?.display ?? null }),
      confidence: authz ? linkConfidence(ctx) : 'medium',
      exchangeIds: exchangeIds(authz, ex),
    }];
  },
};

const verifierMismatch: Rule = {
  code: 'pkce.verifier_mismatch',
  family: 'pkce',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    if (!isCodeExchange(ex) || !hasVerifier(ex.pkce)) return [];
    const fix = 'Send code_challenge = BASE64URL(SHA-256(verifier)) without padding over the raw 32-byte digest, always with code_challenge_method=S256, and keep verifier and challenge in the same session record.';
    const authz = challengedAuthorize(ctx);
    const method = authz?.pkce.codeChallengeMethod;
    const validMethod = method === undefined || method === 'S256' || method === 'plain';
    const other = ctx.correlation.pkceMatches.find((a) => a.id !== authz?.id);
    const signal = hasAadsts(ex, '501481') || (/pkce/.test(errorText(ex)) && /fail|invalid|mismatch/.test(errorText(ex)));
    if (!authz || ctx.correlation.authorizeLink === 'pkce') {
      if (!signal || ctx.correlation.pkceMatches.length) return [];
      return [draft(ex, undefined, 'medium', 'The authorization server says the code_verifier does not match the code_challenge',
        `The AS answered ${outcome(ex)}: the verifier does not hash to the challenge of the authorize request (not captured, so the lens cannot say which transform went wrong).`, fix, {})];
    }
    if (!validMethod || verifierMatches(ex.pkce, authz.pkce)) return [];
    const why = explainMismatch(ex.pkce, authz.pkce)
      ?? (other ? { transform: 'other_session', text: `the verifier belongs to another authorize request (exchange ${other.id}, another tab or app instance), not to the one this code came from` } : undefined);
    const whyText = why ? ` Cause (#${why.transform}): ${why.text}.` : ' No known transform explains it: the verifier and challenge come from different sessions, or one was regenerated between the two requests.';
    return [draft(ex, authz, linkConfidence(ctx), `code_verifier does not match the code_challenge${why ? ` (${why.transform.replace(/_/g, ' ')})` : ''}`,
      `The authorize request (exchange ${authz.id}) sent code_challenge=${authz.pkce.codeChallenge} with method ${method ?? 'omitted (= plain)'}; ${method === 'S256' ? `BASE64URL(SHA-256(code_verifier)) is ${ex.pkce.verifierS256}` : 'the code_verifier is not equal to it'}.${whyText}`
        + (ex.provider === 'keycloak' ? ' Keycloak answers "PKCE verification failed".' : '') + (ex.provider === 'entra' ? ' Entra answers AADSTS501481.' : '')
        + ` The AS answered ${outcome(ex)}.`, fix,
      { code_challenge: authz.pkce.codeChallenge, code_challenge_method: method ?? null, ...(why ? { transform: why.transform } : {}), ...(other ? { matchesAuthorize: other.id } : {}) })];
  },
};

function draft(ex: AnalyzedExchange, authz: AnalyzedExchange | undefined, confidence: FindingDraft['confidence'], title: string, detail: string, fix: string, extra: Record<string, unknown>): FindingDraft {
  return {
    code: 'pkce.verifier_mismatch', severity: 'error', title,
    detail: `${detail} Fix: ${fix}`, fix,
    evidence: withError(ex, { ...extra, ...verifierEvidence(ex) }),
    confidence, exchangeIds: exchangeIds(authz, ex),
  };
}

const unexpectedVerifier: Rule = {
  code: 'pkce.unexpected_verifier',
  family: 'pkce',
  severity: 'warning',
  kinds: ['token'],
  check(ex, ctx) {
    const authz = ctx.correlation.authorize;
    if (!isCodeExchange(ex) || !hasVerifier(ex.pkce) || !authz || authz.pkce.codeChallenge || ctx.correlation.authorizeLink === 'pkce') return [];
    const accepted = !!ex.response && ex.response.status < 300 && !ex.providerError?.error;
    const fix = 'Send code_challenge and code_challenge_method=S256 in the authorize request (check the library did not drop them, or the hand-built authorize URL).';
    return [{
      code: 'pkce.unexpected_verifier',
      severity: codeRejected(ex) ? 'error' : 'warning',
      title: 'code_verifier sent although the authorize request had no code_challenge',
      detail: `The authorize request (exchange ${authz.id}) carried no code_challenge, yet the code exchange sends a code_verifier. RFC 9700 §2.1.1: a token request with a code_verifier is accepted only if the authorize request had a code_challenge.`
        + (accepted ? ' The AS accepted it anyway: it does not enforce PKCE, which leaves the PKCE downgrade attack open (RFC 9700 §4.8.2).' : '')
        + ` The AS answered ${outcome(ex)}. Fix: ${fix}`,
      fix,
      evidence: withError(ex, { authorizeExchange: authz.id, authorizeLink: ctx.correlation.authorizeLink, ...verifierEvidence(ex), asNonConformant: accepted }),
      confidence: linkConfidence(ctx),
      exchangeIds: exchangeIds(authz, ex),
    }];
  },
};

const MALFORMED_HINTS: Record<string, string> = {
  google: 'Google answers "Code Challenge must be base64 encoded."',
  keycloak: 'Keycloak answers invalid_request "Invalid parameter: code_challenge".',
  entra: 'Entra answers AADSTS50147 when the challenge length is wrong.',
};

const malformed: Rule = {
  code: 'pkce.malformed',
  family: 'pkce',
  severity: 'error',
  kinds: ['token', 'authorize', 'par', 'authorize_response'],
  check(ex) {
    const fix = 'Generate a 43–128 character verifier from [A-Za-z0-9-._~] (e.g. 32 random bytes, base64url), and send code_challenge = BASE64URL(SHA-256(verifier)) without padding with code_challenge_method=S256 exactly.';
    let problems: string[] = [];
    let confidence: FindingDraft['confidence'] = 'high';
    if (ex.kind === 'token') problems = verifierProblems(ex.pkce);
    else if (ex.kind === 'authorize' || ex.kind === 'par') problems = challengeProblems(ex.pkce);
    if (!problems.length && ex.kind !== 'token') {
      // The AS's own complaint, in an error redirect or an error page (Google, Keycloak, Entra AADSTS50147).
      const said = ex.authorizeResponse?.error
        ? `${ex.authorizeResponse.error} ${ex.authorizeResponse.errorDescription ?? ''}`
        : `${ex.providerError?.error ?? ''} ${ex.providerError?.errorDescription ?? ''} ${ex.providerError?.htmlTitle ?? ''} ${ex.providerError?.htmlExcerpt ?? ''}`;
      if (/code.?challenge/i.test(said) || /AADSTS50147\b/.test(said) || ex.providerError?.aadsts.includes('50147')) {
        problems = [`the AS rejected the authorize request: ${said.trim().replace(/\s+/g, ' ').slice(0, 200)}`];
        confidence = 'medium';
      }
    }
    if (!problems.length) return [];
    const hint = ex.provider && MALFORMED_HINTS[ex.provider] ? ` ${MALFORMED_HINTS[ex.provider]}` : '';
    return [{
      code: 'pkce.malformed', severity: 'error',
      title: `Malformed PKCE: ${problems[0]}`,
      detail: `RFC 7636 §4.1–4.3 violated: ${problems.join('; ')}.${hint}${ex.response ? ` The AS answered ${outcome(ex)}.` : ''} Fix: ${fix}`,
      fix,
      evidence: withError(ex, {
        problems,
        ...(ex.kind === 'token' ? verifierEvidence(ex) : { code_challenge: ex.pkce.codeChallenge ?? null, code_challenge_method: ex.pkce.codeChallengeMethod ?? null, challengeLength: ex.pkce.codeChallenge?.length }),
      }),
      confidence, exchangeIds: [ex.id],
    }];
  },
};

const weakOrAbsent: Rule = {
  code: 'pkce.weak_or_absent',
  family: 'pkce',
  severity: 'warning',
  kinds: ['authorize', 'par', 'token'],
  check(ex, ctx) {
    const methods = ctx.correlation.discovery?.codeChallengeMethods;
    const github = ex.provider === 'github' ? ' GitHub supports PKCE (S256 only) since 2025-07-14 but does not require it.' : '';
    const fix = 'Use PKCE with code_challenge_method=S256 on every code flow (RFC 9700 §2.1.1: public clients MUST, confidential clients SHOULD).';
    const base = { code: 'pkce.weak_or_absent' as const, fix, exchangeIds: [ex.id] };
    if (ex.kind === 'token') {
      // Public client seen only at the token endpoint (authorize not captured): no verifier although the AS offers PKCE.
      const publicClient = ex.clientAuth.methods.length === 1 && ex.clientAuth.methods[0] === 'none';
      if (!isCodeExchange(ex) || hasVerifier(ex.pkce) || ctx.correlation.authorize || !publicClient || !methods?.length) return [];
      return [{ ...base, severity: 'warning', confidence: 'medium',
        title: 'Public client redeems a code without PKCE',
        detail: `This code exchange has no client authentication and no code_verifier, although the AS advertises code_challenge_methods_supported (${methods.join(', ')}). A public client without PKCE is open to code interception.${github} Fix: ${fix}`,
        evidence: { clientAuth: ex.clientAuth.methods, codeChallengeMethodsSupported: methods } }];
    }
    const p = ex.pkce;
    if (p.codeChallenge && (p.codeChallengeMethod === 'plain' || p.codeChallengeMethod === undefined)) {
      return [{ ...base, severity: 'warning', confidence: 'high',
        title: `PKCE uses the plain method${p.codeChallengeMethod ? '' : ' (code_challenge_method omitted)'}`,
        detail: `The challenge is sent ${p.codeChallengeMethod ? 'with code_challenge_method=plain' : 'without code_challenge_method, which defaults to plain (RFC 7636 §4.3)'}: the verifier travels in the front channel, so PKCE protects nothing against an attacker who sees the authorize request. RFC 9700 §2.1.1: S256 is the only method to use.`
          + (!p.codeChallengeMethod && /^[A-Za-z0-9_-]{43}$/.test(p.codeChallenge) ? ' This challenge looks like an S256 hash: without code_challenge_method=S256 the AS compares it with the verifier as plain text and the code exchange fails (pkce.verifier_mismatch #method_default_plain).' : '')
          + `${github} Fix: ${fix}`,
        evidence: { code_challenge_method: p.codeChallengeMethod ?? null, ...(methods ? { codeChallengeMethodsSupported: methods } : {}) } }];
    }
    if (p.codeChallenge || !isCodeFlow(ex) || !methods?.length) return [];
    const clientId = ex.authorize?.clientId ?? ex.clientId;
    const client = ctx.config.clients.find((c) => c.clientId === clientId);
    const isPublic = client?.type === 'public' || client?.type === 'spa' || client?.authMethod === 'none';
    return [{ ...base, severity: isPublic ? 'warning' : 'info', confidence: client ? 'high' : 'medium',
      title: `Code flow without PKCE although the AS supports it (${methods.join(', ')})`,
      detail: `The authorize request (response_type=${ex.authorize?.responseType}) has no code_challenge, although the AS advertises code_challenge_methods_supported: ${methods.join(', ')}. `
        + (isPublic ? `The config declares client "${client?.name}" as public: public clients MUST use PKCE.` : 'For a confidential client PKCE is recommended; for a public client (SPA, mobile, CLI) it is required.')
        + `${github} Fix: ${fix}`,
      evidence: { response_type: ex.authorize?.responseType, clientId, codeChallengeMethodsSupported: methods, ...(client ? { configClient: client.name, configType: client.type } : {}) } }];
  },
};

export const rules: Rule[] = [verifierMissing, verifierMismatch, unexpectedVerifier, malformed, weakOrAbsent].map(withBaseEvidence);
