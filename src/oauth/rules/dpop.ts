/**
 * §1.13 DPoP (R62): proofs the AS or resource server must reject (RFC 9449 §4.2/§4.3 checks on the
 * decoded `DPoP` header: typ, alg, jwk, htm, htu, ath), `invalid_dpop_proof`, and the nonce dance —
 * a first `use_dpop_nonce` challenge is expected (info); the same rejection on the retry is an error.
 */
import type { AnalyzedExchange, DecodedJwt } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { baseEvidence, errorText } from './responses-util.js';
import { str } from './oidc-util.js';

const PROOF_FIX = 'Mint a fresh DPoP proof per request: typ "dpop+jwt", an asymmetric alg (ES256/RS256/…), the public jwk only, htm = the HTTP method, htu = the request URL without query and fragment, a unique jti, iat = now, and ath = base64url(SHA-256(access token)) on resource requests.';
const NONCE_FIX = 'Read the DPoP-Nonce response header, put its value in the proof\'s nonce claim and retry once; keep the latest nonce per server and update it whenever a response carries a new one.';

/** Normalised htu comparison: scheme and host case-insensitive, default port dropped, no query/fragment. */
function sameHtu(htu: string, ex: AnalyzedExchange): boolean {
  try {
    const u = new URL(htu);
    const a = `${u.protocol}//${u.host}${u.pathname}`.toLowerCase();
    const r = new URL(ex.request.url.base);
    return a === `${r.protocol}//${r.host}${r.pathname}`.toLowerCase();
  } catch {
    return false;
  }
}

function proofProblems(ex: AnalyzedExchange, proof: DecodedJwt): string[] {
  const out: string[] = [];
  if (proof.error) return [`the DPoP header is not a decodable JWT (${proof.error})`];
  const typ = str(proof.header.typ);
  if (typ?.toLowerCase() !== 'dpop+jwt') out.push(`typ is ${typ === undefined ? 'missing' : `"${typ}"`}, not "dpop+jwt"`);
  const alg = str(proof.header.alg) ?? '';
  if (!alg || alg.toLowerCase() === 'none' || /^HS/i.test(alg)) out.push(`alg "${alg || 'missing'}" is not an asymmetric signature algorithm`);
  const jwk = proof.header.jwk as { hasPrivateMembers?: boolean } | undefined;
  if (!jwk) out.push('the header has no jwk (public key)');
  else if (jwk.hasPrivateMembers) out.push('the jwk contains private key members — the private key has been sent to the server and must be rotated');
  const htm = str(proof.claims.htm);
  if (htm !== ex.request.method) out.push(`htm ${htm === undefined ? 'is missing' : `"${htm}"`}${htm === undefined ? '' : ` differs from the request method ${ex.request.method}`}`);
  const htu = str(proof.claims.htu);
  if (htu === undefined) out.push('htu is missing');
  else if (!sameHtu(htu, ex)) out.push(`htu "${htu}" is not the request URL ${ex.request.url.base}${/[?#]/.test(htu) ? ' (htu must not contain query or fragment)' : ''}`);
  const resource = ex.kind === 'other' || ex.kind === 'userinfo';
  if (resource && /^dpop$/i.test(ex.request.authorizationScheme ?? '') && str(proof.claims.ath) === undefined) out.push('ath (hash of the access token) is missing on a resource request');
  return out;
}

function nonceChallenge(ex: AnalyzedExchange): boolean {
  const pe = ex.providerError;
  return pe?.error === 'use_dpop_nonce' || !!pe?.wwwAuthenticate.some((w) => /^dpop$/i.test(w.scheme) && w.params.error === 'use_dpop_nonce');
}

function nonceFinding(ex: AnalyzedExchange, ctx: RuleContext): FindingDraft[] {
  const path = ex.request.url.base;
  const earlier = ctx.correlation.sameHostEarlier.filter((x) => x.request.url.base === path && nonceChallenge(x) && ex.at - x.at <= 60_000);
  const repeated = earlier.length > 0;
  return [{
    code: 'dpop.proof_error', severity: repeated ? 'error' : 'info',
    title: repeated ? `DPoP nonce still rejected after ${earlier.length} earlier challenge(s)` : 'Server requires a DPoP nonce (use_dpop_nonce)',
    detail: repeated
      ? `${path} answered use_dpop_nonce again although it already did ${earlier.length} time(s) in the last minute (${earlier.map((e) => e.id).join(', ')}): the client does not put the DPoP-Nonce value into the proof's nonce claim, reuses a stale nonce, or loops. ${NONCE_FIX}`
      : `${path} answered use_dpop_nonce with a DPoP-Nonce header: this first challenge is the normal RFC 9449 §8/§9 nonce dance; the retry must carry the nonce. ${NONCE_FIX}`,
    fix: NONCE_FIX,
    evidence: { ...baseEvidence(ex), pattern: 'nonce', challenges: earlier.length + 1, earlier: earlier.map((e) => e.id) },
    confidence: 'high',
    exchangeIds: [...earlier.map((e) => e.id), ex.id],
  }];
}

const proofError: Rule = {
  code: 'dpop.proof_error', family: 'dpop', severity: 'error',
  check(ex, ctx) {
    if (nonceChallenge(ex)) return nonceFinding(ex, ctx);
    const proof = ex.jwts.find((j) => j.location === 'header.dpop');
    const headerSent = !!proof || ex.request.headers.some(([n]) => n.toLowerCase() === 'dpop');
    const dpopScheme = /^dpop$/i.test(ex.request.authorizationScheme ?? '');
    const rejected = ex.providerError?.error === 'invalid_dpop_proof' || !!ex.providerError?.wwwAuthenticate.some((w) => /^dpop$/i.test(w.scheme) && w.params.error === 'invalid_dpop_proof');
    let problems: string[] = [];
    if (proof) problems = proofProblems(ex, proof);
    else if (dpopScheme && !headerSent) problems = ['the request uses "Authorization: DPoP" but sends no DPoP proof header'];
    else if (headerSent && !proof) problems = ['the DPoP header is not a JWT'];
    if (!problems.length && !rejected) return [];
    const text = problems.length ? `The DPoP proof is invalid: ${problems.join('; ')}.` : 'The server rejected the DPoP proof (invalid_dpop_proof); the lens found no structural fault, so check the signature key, a reused jti, iat against the server clock, and the nonce.';
    return [{
      code: 'dpop.proof_error', severity: rejected || problems.length ? 'error' : 'warning',
      title: `DPoP proof error${rejected ? ` (${errorText(ex)})` : ''}: ${problems[0] ?? 'rejected by the server'}`.slice(0, 200),
      detail: `${text}${rejected && problems.length ? ` The server answered ${errorText(ex)}.` : ''} ${PROOF_FIX}`,
      fix: PROOF_FIX,
      evidence: {
        ...baseEvidence(ex), pattern: 'proof', problems,
        ...(proof && !proof.error ? { proof: { typ: proof.header.typ ?? null, alg: proof.header.alg ?? null, jwk: proof.header.jwk ?? null, htm: proof.claims.htm ?? null, htu: proof.claims.htu ?? null, iat: proof.claims.iat ?? null, ath_present: proof.claims.ath !== undefined } } : {}),
      },
      confidence: problems.length ? 'high' : 'medium',
      exchangeIds: [ex.id],
    }];
  },
};

export const rules: Rule[] = [proofError];
