/**
 * R15 `client_assertion.invalid` (oauth-rules.md §1.2): a client_assertion JWT (RFC 7523 §3), or a
 * client_secret that is itself a JWT (Sign in with Apple), checked from its decoded header and
 * allow-listed claims. The signature is never seen; `jti` and `sub` may arrive only as fingerprints.
 */
import type { Severity } from '../../model.js';
import type { DecodedJwt } from '../types.js';
import type { AnalyzedExchange, Rule, RuleContext } from './types.js';
import { accepted, asErrorEvidence, errorCode, errorText, exchangeIds, hasAadsts, isoTime, rejected } from './provider-signals.js';
import { AADSTS_R15, AUTH_KINDS, JWT_BEARER_ASSERTION, configuredClient, mechanisms } from './client-auth-util.js';

const APPLE_AUD = 'https://appleid.apple.com';
/** Apple: the client secret JWT may live at most 6 months (15777000 s). */
const APPLE_MAX_LIFETIME_S = 15_777_000;

interface Problem {
  sub: string;
  why: string;
  /** Worth a warning even when the AS accepted (security, not compatibility). */
  security?: boolean;
}

function isApple(ex: AnalyzedExchange, jwt: DecodedJwt): boolean {
  const aud = jwt.claims.aud;
  return ex.provider === 'apple' || ex.request.url.host === 'appleid.apple.com' || aud === APPLE_AUD
    || (Array.isArray(aud) && aud.includes(APPLE_AUD));
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

function acceptedAudiences(ex: AnalyzedExchange, ctx: RuleContext, apple: boolean): string[] {
  if (apple) return [APPLE_AUD];
  const u = ex.request.url;
  const origin = `${u.scheme}://${u.host}${u.explicitPort ? `:${u.port}` : ''}`;
  const d = ctx.correlation.discovery;
  return [u.base, ex.issuer, origin, d?.issuer, d?.tokenEndpoint].filter((s): s is string => !!s).map(trimSlash);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function problems(ex: AnalyzedExchange, ctx: RuleContext, jwt: DecodedJwt, viaSecret: boolean): Problem[] {
  const out: Problem[] = [];
  const ca = ex.clientAuth;
  const apple = isApple(ex, jwt);
  if (!viaSecret && ca.clientAssertionType !== JWT_BEARER_ASSERTION) {
    out.push({ sub: 'assertion_type', why: `client_assertion_type is ${ca.clientAssertionType === undefined ? 'missing' : `"${ca.clientAssertionType}"`}, not ${JWT_BEARER_ASSERTION}` });
  }
  if (jwt.error) {
    out.push({ sub: 'malformed', why: `the assertion does not decode as a JWT (${jwt.error})` });
    return out;
  }
  const alg = String(jwt.header.alg ?? '');
  const own = configuredClient(ctx, ex.clientId);
  if (alg.toLowerCase() === 'none' || alg === '') out.push({ sub: 'alg', why: `alg is "${alg || '(missing)'}": an unsigned assertion`, security: true });
  else if (apple && alg !== 'ES256') out.push({ sub: 'alg', why: `alg is ${alg}; Apple requires ES256` });
  else if (/^HS/i.test(alg) && own?.authMethod === 'private_key_jwt') out.push({ sub: 'alg', why: `alg is ${alg} (a shared-secret MAC) but "${own.name}" is registered for private_key_jwt` });
  if (apple && jwt.header.kid === undefined) out.push({ sub: 'missing_kid', why: 'the JWT header has no kid (Apple needs the Key ID of the .p8 key)' });

  const clientId = ca.bodyClientId ?? ca.basic?.clientId ?? ex.clientId;
  const iss = typeof jwt.claims.iss === 'string' ? jwt.claims.iss : undefined;
  const sub = typeof jwt.claims.sub === 'string' ? jwt.claims.sub : undefined;
  if (apple) {
    if (sub !== undefined && clientId !== undefined && sub !== clientId) out.push({ sub: 'iss_sub', why: `sub is "${sub}" but must be the client_id (Services ID) "${clientId}"` });
  } else {
    if (iss !== undefined && clientId !== undefined && iss !== clientId) out.push({ sub: 'iss_sub', why: `iss is "${iss}" but must equal the client_id "${clientId}" (RFC 7523 §3)` });
    if (sub !== undefined && clientId !== undefined && sub !== clientId) out.push({ sub: 'iss_sub', why: `sub is "${sub}" but must equal the client_id "${clientId}"` });
    if (iss !== undefined && sub !== undefined && clientId === undefined && iss !== sub) out.push({ sub: 'iss_sub', why: `iss "${iss}" and sub "${sub}" differ; both must be the client_id` });
  }
  const aud = jwt.claims.aud;
  const auds = (Array.isArray(aud) ? aud : [aud]).filter((a): a is string => typeof a === 'string').map(trimSlash);
  const okAud = acceptedAudiences(ex, ctx, apple);
  if (aud === undefined) out.push({ sub: 'aud', why: 'the assertion has no aud' });
  else if (!auds.some((a) => okAud.includes(a))) out.push({ sub: 'aud', why: `aud ${JSON.stringify(aud)} is neither the token endpoint nor the issuer (${okAud.slice(0, 2).join(' or ')})` });

  const reference = ex.response?.date ?? ex.at;
  const exp = num(jwt.claims.exp);
  const iat = num(jwt.claims.iat);
  if (exp === undefined) out.push({ sub: 'exp', why: 'the assertion has no exp' });
  else if (exp * 1000 <= reference) out.push({ sub: 'expired', why: `exp ${isoTime(exp * 1000)} is ${Math.round((reference - exp * 1000) / 1000)} s before the AS time` });
  if (apple && exp !== undefined && iat !== undefined && exp - iat > APPLE_MAX_LIFETIME_S) out.push({ sub: 'lifetime', why: `lifetime ${Math.round((exp - iat) / 86400)} days exceeds Apple's 6-month maximum` });
  if (iat !== undefined && iat * 1000 > reference + ctx.thresholds.clockSkewWarnMs) out.push({ sub: 'iat_future', why: `iat is ${Math.round((iat * 1000 - reference) / 1000)} s after the AS time (clock skew)` });

  const jti = jwt.claims.jti_fp;
  if (!apple && !viaSecret && typeof jti === 'string') {
    const replay = ctx.correlation.sameClientEarlier.find((e) => e.clientAuth.assertionJwt?.claims.jti_fp === jti);
    if (replay) out.push({ sub: 'jti_replay', why: `jti repeats the assertion of exchange ${replay.id}; mint a fresh assertion per request`, security: true });
  }
  return out;
}

export const assertionRule: Rule = {
  code: 'client_assertion.invalid', family: 'client-auth', severity: 'error', kinds: AUTH_KINDS,
  check(ex, ctx) {
    const ca = ex.clientAuth;
    const jwt = ca.assertionJwt;
    const viaSecret = !ca.clientAssertion && !!jwt;
    if (!ca.clientAssertion && !jwt) return [];
    const found = jwt ? problems(ex, ctx, jwt, viaSecret) : [{ sub: 'malformed', why: 'the client_assertion is not a JWT' }];
    const aad = hasAadsts(ex, ...AADSTS_R15);
    const audText = /audience validation failed/.test(errorText(ex));
    const asSaid = aad ? `AADSTS${aad}` : audText ? 'Audience validation failed' : rejected(ex) && errorCode(ex) === 'invalid_client' ? 'invalid_client' : undefined;
    let list = found;
    let severity: Severity = 'error';
    if (accepted(ex)) {
      list = found.filter((p) => p.security);
      severity = 'warning';
    }
    if (!list.length && !asSaid) return [];
    const replay = list.some((p) => p.sub === 'jti_replay')
      ? ctx.correlation.sameClientEarlier.filter((e) => e.clientAuth.assertionJwt?.claims.jti_fp === jwt?.claims.jti_fp)
      : [];
    const what = viaSecret ? 'JWT client_secret' : 'client_assertion';
    const why = list.length
      ? `The ${what} is invalid: ${list.map((p) => p.why).join('; ')}.${asSaid ? ` The AS answered ${asSaid}.` : ''}`
      : `The AS rejected the ${what} (${asSaid}) although its claims look right: check the signing key is the one registered (certificate/JWKS) and the signature algorithm.`;
    const fix = viaSecret
      ? 'Regenerate the JWT client secret (ES256, kid, iss = Team ID, sub = client id, aud = https://appleid.apple.com, exp under 6 months) before it expires.'
      : 'Mint the assertion per request with iss = sub = client_id, aud = the token endpoint, a short exp and a fresh jti, signed with the registered key (RFC 7523 §3).';
    const asError = rejected(ex) ? asErrorEvidence(ex) : undefined;
    return [{
      code: 'client_assertion.invalid', severity, confidence: list.length ? 'high' : 'medium',
      title: `Invalid ${what}${list[0] ? ` (${list.map((p) => p.sub).join(', ')})` : ''}`,
      detail: `${why} Fix: ${fix}`, fix,
      evidence: {
        client_id: ex.clientId, auth_method: mechanisms(ex), client_assertion_type: ca.clientAssertionType,
        ...(jwt ? { header: jwt.header, claims: jwt.claims } : {}),
        problems: list.map((p) => p.sub),
        ...(asError ? { as_error: asError } : {}),
      },
      exchangeIds: exchangeIds(ex, ...replay),
    }];
  },
};
