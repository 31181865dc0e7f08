/**
 * PKCE checks that need no correlation (RFC 7636 §4.1–4.3) and the transform that explains a
 * verifier/challenge mismatch (R33). The challenge is public by design; the verifier is only seen
 * as lengths, charset flag and the derived hashes the engine computed before redaction.
 */
import type { AnalyzedExchange, PkceFacts } from '../types.js';

const UNRESERVED = /^[A-Za-z0-9\-._~]+$/;

/** What is wrong with the verifier of a token request, if anything. */
export function verifierProblems(pkce: PkceFacts): string[] {
  const out: string[] = [];
  const len = pkce.verifierLength ?? pkce.verifier?.length;
  if (!pkce.verifier || len === undefined) return out;
  if (len < 43) out.push(`code_verifier is ${len} characters; RFC 7636 §4.1 requires 43–128`);
  if (len > 128) out.push(`code_verifier is ${len} characters; RFC 7636 §4.1 allows at most 128`);
  if (pkce.verifierCharsetValid === false) out.push('code_verifier contains characters outside [A-Za-z0-9-._~] (base64 "+/=" or spaces)');
  return out;
}

/** What is wrong with the challenge/method of an authorize or PAR request, if anything. */
export function challengeProblems(pkce: PkceFacts): string[] {
  const out: string[] = [];
  const { codeChallenge: ch, codeChallengeMethod: method } = pkce;
  if (method !== undefined && method !== 'S256' && method !== 'plain') {
    const meant = /^s-?256$|^sha-?256$/i.test(method) ? ' (meant "S256": the value is case-sensitive)' : '';
    out.push(`code_challenge_method "${method}" is neither "S256" nor "plain"${meant}`);
  }
  if (ch === undefined) {
    if (method !== undefined) out.push('code_challenge_method is sent without a code_challenge');
    return out;
  }
  if (method === 'S256' || (method !== undefined && /^s-?256$|^sha-?256$/i.test(method))) {
    if (/^[0-9a-f]{64}$/i.test(ch)) out.push('the S256 code_challenge is 64 hex characters (a hex digest) instead of 43 base64url characters');
    else if (/[=+/]/.test(ch)) out.push('the S256 code_challenge uses standard base64 ("+", "/" or "=" padding) instead of base64url without padding');
    else if (!(pkce.challengeWellFormed ?? /^[A-Za-z0-9_-]{43}$/.test(ch))) out.push(`the S256 code_challenge is ${ch.length} characters; BASE64URL(SHA-256) is exactly 43`);
  } else if (method === undefined || method === 'plain') {
    if (ch.length < 43 || ch.length > 128) out.push(`the plain code_challenge is ${ch.length} characters; it equals the verifier, which must be 43–128`);
    else if (!UNRESERVED.test(ch)) out.push('the plain code_challenge contains characters outside [A-Za-z0-9-._~]');
  }
  return out;
}

export interface Mismatch {
  transform: string;
  text: string;
}

/**
 * Why S256/plain(verifier) ≠ challenge, when one known mistake explains it. `authz` is the
 * authorize request whose challenge was compared.
 */
export function explainMismatch(token: PkceFacts, authz: PkceFacts): Mismatch | undefined {
  const ch = authz.codeChallenge;
  if (!ch) return undefined;
  const method = authz.codeChallengeMethod;
  if (method === undefined && token.verifierS256 === ch) {
    return { transform: 'method_default_plain', text: 'the challenge is S256(verifier), but code_challenge_method was omitted, so the AS applies "plain" (RFC 7636 §4.3) and compares the verifier itself' };
  }
  if (method === 'plain' && token.verifierS256 === ch) {
    return { transform: 'method_plain_but_hashed', text: 'the challenge is S256(verifier), but code_challenge_method=plain was declared' };
  }
  if (method === 'S256' && token.verifierPlainFp && token.verifierPlainFp === authz.challengePlainFp) {
    return { transform: 'plain_as_s256', text: 'the challenge is the verifier itself, but code_challenge_method=S256 was declared' };
  }
  if (token.verifierS256Hex && ch.toLowerCase() === token.verifierS256Hex) {
    return { transform: 'hex_digest', text: 'the challenge is the hex SHA-256 digest of the verifier instead of BASE64URL of the raw digest' };
  }
  if (token.verifierS256StdBase64 && (ch === token.verifierS256StdBase64 || ch === token.verifierS256StdBase64.replace(/=+$/, ''))) {
    return { transform: 'padded_or_std_base64', text: 'the challenge is standard base64 (with "+/" or "=" padding) of the digest instead of base64url without padding' };
  }
  if (token.verifierS256 && ch.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') === token.verifierS256) {
    return { transform: 'padded_or_std_base64', text: 'the challenge equals S256(verifier) only after converting base64 to base64url and stripping padding' };
  }
  if (token.verifierDoubleS256 && ch === token.verifierDoubleS256) {
    return { transform: 'double_hash', text: 'the challenge is S256 applied twice (the client hashed an already hashed value)' };
  }
  return undefined;
}

/** True when the verifier satisfies the challenge under the method the AS will apply. */
export function verifierMatches(token: PkceFacts, authz: PkceFacts): boolean {
  const method = authz.codeChallengeMethod ?? 'plain';
  if (method === 'S256') return !!token.verifierS256 && token.verifierS256 === authz.codeChallenge;
  if (method === 'plain') return !!token.verifierPlainFp && token.verifierPlainFp === authz.challengePlainFp;
  return false;
}

/** A response-type that yields a code (code flow or hybrid). */
export function isCodeFlow(ex: AnalyzedExchange): boolean {
  const rt = ex.authorize?.responseType;
  return !!rt && rt.split(/\s+/).includes('code');
}

export function hasVerifier(pkce: PkceFacts): boolean {
  return !!pkce.verifier && pkce.verifier.length > 0;
}
