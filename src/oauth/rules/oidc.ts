/**
 * §1.11 OIDC, keys, discovery (R54–R60): id_token nonce and claims, clock skew of minted JWTs,
 * unknown signing keys, discovery issuer/endpoint mismatches and the RFC 9207 `iss` parameter.
 * Nonces and `sub` are compared by fingerprint only (the engine fingerprints the authorize `nonce`
 * and the id_token `nonce` claim under the same kind); no claim value beyond the allow-list is seen.
 */
import type { AnalyzedExchange, DecodedJwt } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { baseEvidence, errorText, is2xx } from './responses-util.js';
import { asClock, audiences, clientOf, entraIssuerHint, fillTenant, idTokenOf, num, str } from './oidc-util.js';
import { rules as discoveryRules } from './oidc-discovery.js';

const NONCE_FIX = 'Keep the nonce the login started with (server session or a cookie that survives the callback: SameSite=None; Secure for form_post) and compare it with the id_token nonce of the same flow.';

const nonceMismatch: Rule = {
  code: 'id_token.nonce_mismatch', family: 'oidc', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    const jwt = idTokenOf(ex);
    const authz = ctx.correlation.authorize;
    const sent = authz?.authorize?.nonce;
    if (!jwt || !authz || !sent || !is2xx(ex)) return [];
    const got = str(jwt.claims.nonce_fp);
    if (got === sent.fp) return [];
    const missing = got === undefined;
    const link = ctx.correlation.authorizeLink;
    return [{
      code: 'id_token.nonce_mismatch', severity: 'error',
      title: missing ? 'id_token has no nonce although the authorize request sent one' : 'id_token nonce differs from the authorize request nonce',
      detail: `${missing ? `The authorize request ${authz.id} sent a nonce (${sent.display}) but the id_token carries none` : `The id_token nonce (fp ${got.slice(0, 12)}, ${num(jwt.claims.nonce_len) ?? '?'} chars) is not the nonce of the authorize request ${authz.id} (${sent.display})`}: a conforming client rejects this id_token (OIDC Core §3.1.3.7). Usually the token belongs to another login of the same browser (two tabs, a retried login) or the nonce the client stored was lost or overwritten (see state.cookie_not_sent). ${NONCE_FIX}`,
      fix: NONCE_FIX,
      evidence: {
        ...baseEvidence(ex), authorize: authz.id, authorize_link: link ?? null, nonce_sent: sent.display,
        id_token_nonce_fp: got ? got.slice(0, 12) : null,
      },
      confidence: link === 'fallback' ? 'medium' : 'high',
      exchangeIds: [authz.id, ex.id],
    }];
  },
};

interface ClaimProblem { sub: string; text: string; severity: 'error' | 'warning'; confidence: 'high' | 'medium' }

function claimProblems(ex: AnalyzedExchange, jwt: DecodedJwt, ctx: RuleContext): ClaimProblem[] {
  const out: ClaimProblem[] = [];
  const client = clientOf(ex, ctx);
  const aud = audiences(jwt);
  const azp = str(jwt.claims.azp);
  if (client && aud.length && !aud.includes(client)) {
    out.push({ sub: 'aud', severity: 'error', confidence: 'high', text: `aud ${JSON.stringify(aud)} does not contain the client_id ${client}: the id_token was issued to another client (other app registration, environment or tenant).` });
  } else if (client && aud.length > 1 && azp !== client) {
    out.push({ sub: 'azp', severity: 'warning', confidence: 'medium', text: `aud has ${aud.length} audiences but azp is ${azp === undefined ? 'absent' : `"${azp}"`}, not the client_id ${client} (OIDC Core §3.1.3.7 steps 4–5).` });
  }
  const meta = ctx.correlation.discovery;
  const iss = str(jwt.claims.iss);
  if (meta && iss !== undefined) {
    const expected = fillTenant(meta.issuer, jwt.claims.tid);
    if (iss !== expected) {
      const slash = iss.replace(/\/$/, '') === expected.replace(/\/$/, '');
      const hint = entraIssuerHint(iss, meta.issuer);
      out.push({ sub: slash ? 'iss_trailing_slash' : 'iss', severity: 'error', confidence: 'high',
        text: `iss "${iss}" is not the discovery issuer "${expected}"${slash ? ' (they differ only by a trailing slash; issuer comparison is byte-exact)' : ''}.${hint ? ` ${hint}` : ''}` });
    }
  }
  const exp = num(jwt.claims.exp);
  const clock = asClock(ex);
  if (exp !== undefined && exp * 1000 <= clock.at) {
    out.push({ sub: 'exp', severity: 'error', confidence: 'high', text: `exp ${new Date(exp * 1000).toISOString()} had already passed when the token response arrived (${clock.source === 'response_date' ? 'AS Date header' : 'lens clock'} ${new Date(clock.at).toISOString()}): the AS clock or its token lifetime is wrong.` });
  }
  const alg = str(jwt.header.alg);
  const algs = meta?.idTokenSigningAlgs;
  if (alg !== undefined && alg.toLowerCase() === 'none') {
    out.push({ sub: 'alg_none', severity: 'error', confidence: 'high', text: 'alg is "none": the id_token is unsigned; clients must reject it unless they explicitly registered for unsigned tokens.' });
  } else if (alg !== undefined && algs?.length && !algs.includes(alg)) {
    out.push({ sub: 'alg', severity: 'error', confidence: 'high', text: `alg ${alg} is not in id_token_signing_alg_values_supported ${JSON.stringify(algs)}${/^HS/.test(alg) ? ' (an HMAC alg: the client registration asks for symmetric signing with the client secret)' : ''}.` });
  }
  return out;
}

const CLAIMS_FIX = 'Validate the id_token against the values this flow used: aud = your client_id, iss = the discovery issuer byte for byte, alg from the discovery metadata; fix the client registration or configured issuer that differs.';

const claimsInvalid: Rule = {
  code: 'id_token.claims_invalid', family: 'oidc', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    const jwt = idTokenOf(ex);
    if (!jwt || !is2xx(ex)) return [];
    const problems = claimProblems(ex, jwt, ctx);
    if (!problems.length) return [];
    const severity = problems.some((p) => p.severity === 'error') ? 'error' : 'warning';
    return [{
      code: 'id_token.claims_invalid', severity,
      title: `id_token ${problems.map((p) => p.sub.replace('iss_trailing_slash', 'iss')).join(', ')} invalid for this client`,
      detail: `${problems.map((p) => p.text).join(' ')} ${CLAIMS_FIX}`,
      fix: CLAIMS_FIX,
      evidence: {
        ...baseEvidence(ex), problems: problems.map((p) => p.sub), client_id: clientOf(ex, ctx) ?? null,
        id_token: { alg: jwt.header.alg ?? null, kid: jwt.header.kid ?? null, iss: jwt.claims.iss ?? null, aud: jwt.claims.aud ?? null, azp: jwt.claims.azp ?? null, exp: jwt.claims.exp ?? null },
        ...(ctx.correlation.discovery ? { discovery_issuer: ctx.correlation.discovery.issuer, discovery_exchange: ctx.correlation.discovery.exchangeId } : {}),
      },
      confidence: problems.some((p) => p.confidence === 'high') ? 'high' : 'medium',
      exchangeIds: ctx.correlation.authorize && ctx.correlation.authorize.seq < ex.seq ? [ctx.correlation.authorize.id, ex.id] : [ex.id],
    }];
  },
};

const SKEW_FIX = 'Synchronise host and container clocks with NTP; allow a small tolerance (seconds, not minutes); back-date minted iat by a few seconds.';

/** Backend-minted JWTs the AS judges by its own clock. */
const MINTED = ['request.client_assertion', 'request.client_secret', 'header.dpop'];

const clockSkew: Rule = {
  code: 'clock.skew', family: 'oidc', severity: 'warning',
  check(ex, ctx) {
    const out: FindingDraft[] = [];
    const warnMs = ctx.thresholds.clockSkewWarnMs;
    const rejected = !!ex.providerError?.error || (!!ex.response && ex.response.status >= 400);
    for (const jwt of ex.jwts) {
      const iat = num(jwt.claims.iat);
      const nbf = num(jwt.claims.nbf);
      if (MINTED.includes(jwt.location)) {
        const clock = asClock(ex);
        if (iat === undefined) continue;
        const delta = iat * 1000 - clock.at;
        // A future iat is always skew; a past one only for per-request proofs (an Apple client secret lives for months).
        const skewed = delta > warnMs || (jwt.location === 'header.dpop' && -delta > warnMs);
        if (!skewed) continue;
        const big = Math.abs(delta) > ctx.thresholds.clockSkewErrorMs;
        out.push({
          code: 'clock.skew', severity: rejected || big ? 'error' : 'warning',
          title: `${jwt.location.replace(/^(request|header)\./, '')} iat is ${Math.round(Math.abs(delta) / 1000)} s ${delta > 0 ? 'ahead of' : 'behind'} the AS clock`,
          detail: `The ${jwt.location} JWT minted by the client has iat ${new Date(iat * 1000).toISOString()}, ${Math.round(Math.abs(delta) / 1000)} s ${delta > 0 ? 'in the future' : 'in the past'} relative to the ${clock.source === 'response_date' ? 'AS response Date' : 'lens clock'} (tolerance ${warnMs / 1000} s): the client host clock is ${delta > 0 ? 'ahead' : 'behind'}.${rejected ? ` The AS rejected the request: ${errorText(ex)}.` : ''} ${SKEW_FIX}`,
          fix: SKEW_FIX,
          evidence: { ...baseEvidence(ex), jwt: jwt.location, iat, reference: clock.source, reference_time: new Date(clock.at).toISOString(), skew_ms: Math.round(delta) },
          confidence: clock.source === 'response_date' ? 'high' : 'medium',
          exchangeIds: [ex.id],
        });
      } else if (jwt.location.startsWith('response.')) {
        // AS-minted: compared with the lens clock (a client validating with this clock rejects it as "issued in the future").
        const t = Math.max(iat ?? 0, nbf ?? 0) * 1000;
        const delta = t - ex.at;
        if (!t || delta <= 2 * warnMs) continue;
        out.push({
          code: 'clock.skew', severity: 'warning',
          title: `${jwt.location.replace(/^response\./, '')} issued ${Math.round(delta / 1000)} s in the future`,
          detail: `The AS minted ${jwt.location.replace(/^response\./, '')} with ${nbf !== undefined && nbf * 1000 === t ? 'nbf' : 'iat'} ${new Date(t).toISOString()}, ${Math.round(delta / 1000)} s after the lens clock: the AS clock is ahead or this host is behind. Clients fail with "JWT not active yet" / "id_token issued in the future". ${SKEW_FIX}`,
          fix: SKEW_FIX,
          evidence: { ...baseEvidence(ex), jwt: jwt.location, iat: iat ?? null, nbf: nbf ?? null, lens_time: new Date(ex.at).toISOString(), skew_ms: Math.round(delta) },
          confidence: 'medium',
          exchangeIds: [ex.id],
        });
      }
    }
    return out;
  },
};

const JWKS_FIX = 'On an unknown kid refetch the jwks_uri from discovery once (rate-limited), cache keys for minutes not days, and fetch the JWKS of the token\'s own issuer/tenant.';

/** kids of issued JWTs (id_token, JWT access token) of a successful token response. */
function issuedKids(ex: AnalyzedExchange): Array<{ name: string; kid: string }> {
  const out: Array<{ name: string; kid: string }> = [];
  const tr = ex.tokenResponse;
  for (const t of [tr?.idToken, tr?.accessToken]) {
    const kid = str(t?.jwt?.header.kid);
    if (t && kid && !t.jwt?.error) out.push({ name: t.name, kid });
  }
  return out;
}

const kidNotFound: Rule = {
  code: 'jwks.kid_not_found', family: 'oidc', severity: 'error', kinds: ['token', 'jwks'],
  check(ex, ctx) {
    const draft = (token: AnalyzedExchange, jwks: AnalyzedExchange, missing: Array<{ name: string; kid: string }>, stale: boolean): FindingDraft => ({
      code: 'jwks.kid_not_found', severity: 'error',
      title: `${missing.map((m) => `${m.name} kid ${m.kid}`).join(', ')} not in the JWKS the client ${stale ? 'has cached' : 'fetched'}`,
      detail: `The token response ${token.id} is signed with kid ${missing.map((m) => m.kid).join(', ')}, but the JWKS response ${jwks.id} (${jwks.request.url.base}) has only [${(jwks.jwksKids ?? []).join(', ')}]. ${stale ? 'The key set was fetched before the AS rotated its signing key and has not been refetched (#stale_cache).' : 'The client fetched a key set that does not contain the signing key: another issuer, tenant, realm or environment\'s jwks_uri.'} ${JWKS_FIX}`,
      fix: JWKS_FIX,
      evidence: { ...baseEvidence(ex), token_exchange: token.id, jwks_exchange: jwks.id, jwks_uri: jwks.request.url.base, kids_in_jwks: jwks.jwksKids ?? [], missing, pattern: stale ? 'stale_cache' : 'wrong_key_set' },
      confidence: stale ? 'medium' : 'high',
      exchangeIds: token.seq < jwks.seq ? [token.id, jwks.id] : [jwks.id, token.id],
    });
    if (ex.kind === 'token') {
      const kids = issuedKids(ex);
      // Nothing to look up without a signed token issued here (skips scanning up to 100 same-host exchanges).
      if (!kids.length || !is2xx(ex)) return [];
      const jwks = ctx.correlation.sameHostEarlier.findLast((x) => x.kind === 'jwks' && !!x.jwksKids?.length);
      const missing = kids.filter((k) => jwks && !jwks.jwksKids?.includes(k.kid));
      return jwks && missing.length && is2xx(ex) ? [draft(ex, jwks, missing, true)] : [];
    }
    // A JWKS fetched right after a token response (validating it) that lacks the token's kid.
    if (!ex.jwksKids?.length) return [];
    const token = ctx.correlation.sameHostEarlier.findLast((x) => x.kind === 'token' && is2xx(x) && issuedKids(x).length > 0 && ex.at - x.at <= 60_000);
    const missing = token ? issuedKids(token).filter((k) => !ex.jwksKids?.includes(k.kid)) : [];
    return token && missing.length ? [draft(token, ex, missing, false)] : [];
  },
};

export const rules: Rule[] = [nonceMismatch, claimsInvalid, clockSkew, kidNotFound, ...discoveryRules];
