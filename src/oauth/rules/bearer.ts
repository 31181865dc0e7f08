/**
 * §1.12 Bearer usage (R61): an API or userinfo call presenting something other than a live access
 * token — a literal placeholder, the scheme twice, an expired JWT access token, an id_token, or a
 * DPoP-bound token sent with the Bearer scheme. Reads the redacted bearer facts and decoded JWT claims.
 */
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { baseEvidence } from './responses-util.js';
import { num, str } from './oidc-util.js';

interface Wrong { sub: string; text: string; fix: string }

function expiresInMs(e: AnalyzedExchange): number | undefined {
  const v = e.tokenResponse?.expiresIn;
  const n = typeof v === 'string' ? Number(v) : v;
  return n !== undefined && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

/** Diagnoses from the token response that issued the presented token (fp match, [C t→api]). */
function fromIssuer(ex: AnalyzedExchange, ctx: RuleContext): Wrong | undefined {
  const hit = ctx.correlation.bearerIssuedBy;
  if (!hit) return undefined;
  const by = hit.exchange;
  if (hit.as === 'id_token') {
    return { sub: 'id_token_as_access_token', text: `The presented token is the id_token issued by token response ${by.id}: id_tokens authenticate the user to the client and are not access tokens (OIDC Core §2, RFC 6750).`, fix: 'Send the access_token from the token response, not the id_token; request the API\'s scope/audience so the AS issues an access token for it.' };
  }
  if (hit.as === 'refresh_token') {
    return { sub: 'refresh_token_as_access_token', text: `The presented token is the refresh token issued by token response ${by.id}; refresh tokens are only for the token endpoint, and sending them to APIs exposes them.`, fix: 'Send the access_token; keep the refresh token on the client and use it only at the token endpoint.' };
  }
  const scheme = ex.request.authorizationScheme ?? '';
  if (/^dpop$/i.test(by.tokenResponse?.tokenType ?? '') && /^bearer$/i.test(scheme)) {
    return { sub: 'dpop_bound_as_bearer', text: `Token response ${by.id} issued this token with token_type=DPoP, but it was sent with the Bearer scheme (RFC 9449 §7.1).`, fix: 'Send a DPoP-bound token as "Authorization: DPoP <token>" with a DPoP proof header, as token_type=DPoP says.' };
  }
  const life = expiresInMs(by);
  if (life !== undefined && ex.at > by.at + life) {
    return { sub: 'expired', text: `The access token issued by ${by.id} with expires_in ${life / 1000} s expired ${Math.round((ex.at - by.at - life) / 1000)} s before this call.`, fix: 'Refresh the access token before it expires (issued_at + expires_in minus a small skew) and retry once on 401 invalid_token after refreshing.' };
  }
  return undefined;
}

function diagnose(ex: AnalyzedExchange, ctx: RuleContext): Wrong | undefined {
  const bearer = ex.request.bearer;
  if (!bearer) return undefined;
  const scheme = ex.request.authorizationScheme ?? '';
  if (bearer.anomalies.includes('empty') || bearer.anomalies.includes('literal') || bearer.anomalies.includes('placeholder')) {
    return { sub: 'literal', text: `The Authorization header carries ${bearer.anomalies.includes('empty') ? 'an empty token' : `a literal/placeholder value (${bearer.length} chars, e.g. "undefined" or "null")`} instead of an access token: the token variable was unset when the header was built.`, fix: 'Build the Authorization header only after the access token is available; fail loudly when it is missing.' };
  }
  if (ex.request.bearerDoubleScheme) {
    return { sub: 'double_scheme', text: `The header reads "${scheme} ${scheme} …": the stored value already contained the scheme and the client prefixed it again.`, fix: 'Store the bare access token, or do not add the scheme prefix twice.' };
  }
  const linked = fromIssuer(ex, ctx);
  if (linked) return linked;
  const jwt = ex.jwts.find((j) => j.location === 'header.authorization' && !j.error);
  if (!jwt) return undefined;
  if (/^bearer$/i.test(scheme) && str(jwt.claims['cnf.jkt'])) {
    return { sub: 'dpop_bound_as_bearer', text: 'The token is DPoP-bound (cnf.jkt) but was sent with the Bearer scheme; the resource server rejects it (RFC 9449 §7.1).', fix: 'Send a DPoP-bound token as "Authorization: DPoP <token>" with a DPoP proof header, as token_type=DPoP says.' };
  }
  if (str(jwt.claims.nonce_fp) !== undefined || jwt.claims.token_use === 'id') {
    return { sub: 'id_token_as_access_token', text: `The token is an id_token (${jwt.claims.token_use === 'id' ? 'Cognito token_use "id"' : 'it carries a nonce claim'}, aud ${JSON.stringify(jwt.claims.aud ?? null)}): id_tokens authenticate the user to the client and are not meant for APIs (OIDC Core §2).`, fix: 'Send the access_token from the token response, not the id_token; request the API\'s scope/audience so the AS issues an access token for it.' };
  }
  const exp = num(jwt.claims.exp);
  if (exp !== undefined && exp * 1000 < ex.at) {
    return { sub: 'expired', text: `The JWT access token expired at ${new Date(exp * 1000).toISOString()}, ${Math.round((ex.at - exp * 1000) / 1000)} s before this call.`, fix: 'Refresh the access token before exp (minus a small skew) and retry once on 401 invalid_token after refreshing.' };
  }
  return undefined;
}

const wrongOrStale: Rule = {
  code: 'bearer.wrong_or_stale_token', family: 'bearer', severity: 'error', kinds: ['userinfo', 'other'],
  check(ex, ctx): FindingDraft[] {
    const wrong = diagnose(ex, ctx);
    if (!wrong) return [];
    const challenge = ex.providerError?.wwwAuthenticate.find((w) => /^(bearer|dpop)$/i.test(w.scheme));
    const confirmed = ex.response?.status === 401 && !!challenge;
    const issuedBy = ctx.correlation.bearerIssuedBy?.exchange;
    // An expired token the resource still accepted (leeway) is a warning; every other pattern fails or leaks.
    const accepted = !!ex.response && ex.response.status < 400;
    return [{
      code: 'bearer.wrong_or_stale_token', severity: wrong.sub === 'expired' && accepted ? 'warning' : 'error',
      title: `API call with ${wrong.sub.replace(/_/g, ' ')} token${ex.response?.status === 401 ? ' (401)' : ''}`,
      detail: `${wrong.text}${confirmed ? ` The resource server answered 401 with WWW-Authenticate ${challenge.scheme}${challenge.params.error ? ` error="${challenge.params.error}"` : ''}.` : ''} ${wrong.fix}`,
      fix: wrong.fix,
      evidence: {
        ...baseEvidence(ex), pattern: wrong.sub, scheme: ex.request.authorizationScheme ?? null, token: ex.request.bearer?.display ?? null,
        ...(issuedBy ? { issued_by: issuedBy.id, issued_as: ctx.correlation.bearerIssuedBy?.as } : {}),
        ...(challenge ? { www_authenticate: { scheme: challenge.scheme, ...challenge.params } } : {}),
      },
      confidence: wrong.sub === 'id_token_as_access_token' && !issuedBy && ex.jwts.find((j) => j.location === 'header.authorization')?.claims.token_use !== 'id' ? 'medium' : 'high',
      exchangeIds: issuedBy ? [issuedBy.id, ex.id] : [ex.id],
    }];
  },
};

export const rules: Rule[] = [wrongOrStale];
