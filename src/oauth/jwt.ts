/**
 * JWT decoding for diagnostics (oauth-rules.md §4.3): header (alg, kid, typ …) and allow-listed
 * claims only. `sub`, `nonce` and `jti` become fingerprints; every other claim (PII) is dropped; the
 * signature and the compact form are never kept.
 */
import type { DecodedJwt } from '../model.js';
import type { Fingerprinter } from './fingerprint.js';

export const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;

const HEADER_KEYS = ['alg', 'kid', 'typ', 'cty', 'x5t', 'x5t#S256', 'crit'];
const CLAIMS = ['iss', 'aud', 'azp', 'exp', 'iat', 'nbf', 'client_id', 'scope', 'scp', 'tid', 'htm', 'htu', 'ath', 'token_use', 'typ', 'auth_time', 'ver', 'acr', 'amr'];
const FP_CLAIMS = ['sub', 'nonce', 'jti'];

export function looksLikeJwt(value: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

function clip(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 300 ? `${value.slice(0, 300)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => (typeof v === 'string' || typeof v === 'number' ? clip(v) : '[…]'));
  return '[object]';
}

function part(segment: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes a compact JWT into header + allow-listed claims; raw claim values other than the allow-list never leave. */
export function decodeJwt(compact: string, location: string, fingerprinter: Fingerprinter, keep: readonly string[] = []): DecodedJwt {
  const [h = '', p = ''] = compact.split('.');
  const headerRaw = part(h);
  const payload = part(p);
  const header: Record<string, unknown> = {};
  if (headerRaw) {
    for (const key of HEADER_KEYS) if (key in headerRaw) header[key] = clip(headerRaw[key]);
    if (typeof headerRaw.jwk === 'object' && headerRaw.jwk !== null) {
      const jwk = headerRaw.jwk as Record<string, unknown>;
      // Public key facts only; a private member is itself a finding (R62), so report its presence.
      header.jwk = {
        kty: clip(jwk.kty),
        ...(jwk.crv !== undefined ? { crv: clip(jwk.crv) } : {}),
        hasPrivateMembers: ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in jwk),
      };
    }
  }
  const claims: Record<string, unknown> = {};
  if (payload) {
    for (const key of CLAIMS) if (key in payload) claims[key] = clip(payload[key]);
    // e.g. `sub` of a client_assertion is the client_id (Class C), wanted as evidence (R15).
    for (const key of keep) if (key in payload) claims[key] = clip(payload[key]);
    const cnf = payload.cnf as Record<string, unknown> | undefined;
    if (cnf && typeof cnf === 'object' && typeof cnf.jkt === 'string') claims['cnf.jkt'] = clip(cnf.jkt);
    for (const key of FP_CLAIMS) {
      const v = payload[key];
      if (typeof v !== 'string') continue;
      // nonce/jti share the kind of the request parameter so R54/R15 can compare them.
      claims[`${key}_fp`] = fingerprinter.fp(key === 'sub' ? 'jwt_sub' : key, v);
      claims[`${key}_len`] = v.length;
    }
  }
  const error = !headerRaw ? 'header is not base64url JSON' : !payload ? 'payload is not base64url JSON' : undefined;
  return { location, header, claims, ...(error ? { error } : {}) };
}
