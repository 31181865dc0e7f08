/** Client authentication and PKCE facts of a request (Basic, Bearer, body credentials, assertions, verifier hashes). */
import { pkceFacts, valueAnomalies, type Fingerprinter } from './fingerprint.js';
import type { SecretCollector } from './inventory.js';
import { decodeJwt, looksLikeJwt } from './jwt.js';
import { parseBasic } from './parse.js';
import type { BasicAuthFacts, ClientAuthFacts, ClientAuthMethod, DecodedJwt, Param, PkceFacts, RequestFacts, SecretRef } from './types.js';

export const textOf = (params: Param[], name: string): string | undefined => {
  const v = params.find((p) => p.name === name)?.value;
  return typeof v === 'string' ? v : undefined;
};
export const refOf = (params: Param[], name: string): SecretRef | undefined => {
  const v = params.find((p) => p.name === name)?.value;
  return v !== undefined && typeof v !== 'string' ? v : undefined;
};

/** The Authorization header: Basic client credentials (RFC 6749 §2.3.1 facts) or a Bearer/DPoP token. */
export function authorizationFacts(authorization: string | undefined, c: SecretCollector, fp: Fingerprinter, jwts: DecodedJwt[]): { scheme?: string; basic?: BasicAuthFacts; bearer?: SecretRef; bearerFacts?: Pick<RequestFacts, 'bearerAs' | 'bearerDoubleScheme'> } {
  const scheme = authorization ? /^(\S+)/.exec(authorization.trim())?.[1] : undefined;
  if (!authorization || !scheme) return {};
  if (/^basic$/i.test(scheme)) {
    const parts = parseBasic(authorization.trim().slice(scheme.length));
    const raw = `${parts.rawUser ?? ''}${parts.rawPass ?? ''}`;
    const basic: BasicAuthFacts = {
      validBase64: parts.validBase64,
      hasColon: parts.hasColon,
      ...(parts.user !== undefined ? { clientId: parts.user } : {}),
      ...(parts.rawUser !== undefined ? { rawClientId: parts.rawUser } : {}),
      clientIdAnomalies: parts.user !== undefined ? valueAnomalies(parts.user) : [],
      ...(parts.pass !== undefined ? { secret: c.mint('client_secret', 'client_secret', parts.pass, 'request.header') } : {}),
      needsFormEncoding: /[ &=:+]|[^\x00-\x7f]|%(?![0-9A-Fa-f]{2})/.test(raw),
      looksFormEncoded: /%[0-9A-Fa-f]{2}/.test(raw),
    };
    return { scheme, basic };
  }
  if (/^(bearer|dpop)$/i.test(scheme)) {
    const token = authorization.trim().slice(scheme.length).trim();
    if (looksLikeJwt(token)) jwts.push(decodeJwt(token, 'header.authorization', fp));
    // R61: fps under the kinds issued id_tokens / refresh tokens are minted with, never the value.
    const bearerFacts = { bearerAs: { idToken: fp.fp('id_token', token), refreshToken: fp.fp('refresh_token', token) }, ...(/^(bearer|dpop)\s/i.test(token) ? { bearerDoubleScheme: true } : {}) };
    return { scheme, bearer: c.mint('access_token', 'access_token', token, 'request.header'), bearerFacts };
  }
  return { scheme };
}

/** Which client-authentication mechanisms the request carries, with their facts. */
export function clientAuthFacts(basic: BasicAuthFacts | undefined, lookup: (name: string) => Param[], jwts: DecodedJwt[]): ClientAuthFacts {
  const bodyClientId = textOf(lookup('client_id'), 'client_id');
  const clientSecret = refOf(lookup('client_secret'), 'client_secret');
  const clientAssertion = refOf(lookup('client_assertion'), 'client_assertion');
  const assertionType = textOf(lookup('client_assertion_type'), 'client_assertion_type');
  const methods: ClientAuthMethod[] = [];
  if (basic) methods.push('basic');
  if (clientSecret) methods.push('post');
  if (clientAssertion) methods.push('jwt');
  if (!methods.length) methods.push('none');
  const assertionJwt = jwts.find((j) => j.location === 'request.client_assertion') ?? jwts.find((j) => j.location === 'request.client_secret');
  return {
    methods,
    ...(basic ? { basic } : {}),
    ...(bodyClientId !== undefined ? { bodyClientId } : {}),
    bodyClientIdAnomalies: bodyClientId !== undefined ? valueAnomalies(bodyClientId) : [],
    ...(clientSecret ? { clientSecret } : {}),
    ...(assertionType !== undefined ? { clientAssertionType: assertionType } : {}),
    ...(clientAssertion ? { clientAssertion } : {}),
    ...(assertionJwt ? { assertionJwt } : {}),
  };
}

/** PKCE facts: the challenge as sent, and the verifier reduced to lengths, charset and its public hashes. */
export function pkceFactsFor(lookup: (name: string) => Param[], rawVerifier: string | undefined, fp: Fingerprinter): PkceFacts {
  const pkce: PkceFacts = {};
  const challenge = textOf(lookup('code_challenge'), 'code_challenge');
  const method = textOf(lookup('code_challenge_method'), 'code_challenge_method');
  if (challenge !== undefined) {
    pkce.codeChallenge = challenge;
    pkce.challengeWellFormed = /^[A-Za-z0-9_-]{43}$/.test(challenge);
    pkce.challengePlainFp = fp.fp('pkce_plain', challenge);
  }
  if (method !== undefined) pkce.codeChallengeMethod = method;
  if (rawVerifier !== undefined) {
    const facts = pkceFacts(rawVerifier);
    const ref = refOf(lookup('code_verifier'), 'code_verifier');
    if (ref) pkce.verifier = ref;
    pkce.verifierLength = rawVerifier.length;
    pkce.verifierCharsetValid = /^[A-Za-z0-9\-._~]*$/.test(rawVerifier);
    pkce.verifierS256 = facts.s256;
    pkce.verifierS256Hex = facts.hex;
    pkce.verifierS256StdBase64 = facts.stdBase64;
    pkce.verifierDoubleS256 = facts.doubleS256;
    pkce.verifierPlainFp = fp.fp('pkce_plain', rawVerifier);
  }
  return pkce;
}
