/**
 * The secrets inventory (oauth-rules.md §4.1) and the per-exchange `SecretCollector`: it mints
 * SecretRefs, remembers the raw values of one exchange only while that exchange is being processed,
 * and sweeps any text for those values (in every common encoding) and for secret-shaped values.
 */
import type { Fingerprinter, MintOptions } from './fingerprint.js';
import type { SecretOccurrence, SecretPlace, SecretRef } from './types.js';

/** Class A: credentials and grants. */
export const CLASS_A = new Set([
  'client_secret', 'client_assertion', 'assertion', 'code', 'code_verifier', 'refresh_token', 'access_token', 'id_token',
  'token', 'subject_token', 'actor_token', 'device_code', 'password', 'passwd', 'pwd', 'otp', 'mfa_token', 'pre-authorized_code',
  'tx_code', 'logout_token', 'id_token_hint', 'login_hint_token', 'auth_req_id', 'appsecret_proof', 'secret', 'api_key',
  'apikey', 'private_key', 'issued_token', 'registration_access_token', 'oauth_token', 'oauth_token_secret', 'session_token',
  'client_secret_jwt', 'request', 'authorization', 'bearer', 'jwt', 'sessionid', 'session_id', 'csrf_token', 'xsrf_token',
  'samlresponse', 'jsessionid',
]);

/** Class B: correlation values; show length + fp. */
export const CLASS_B = new Set(['state', 'nonce', 'session_state', 'jti', 'request_uri', 'user_code', 'login_hint']);

/** Class C names that look secret-ish but are public by design. */
const PUBLIC = new Set([
  'client_id', 'redirect_uri', 'scope', 'grant_type', 'response_type', 'response_mode', 'code_challenge', 'code_challenge_method',
  'token_type', 'token_type_hint', 'expires_in', 'refresh_expires_in', 'refresh_token_expires_in', 'error', 'error_description', 'error_uri', 'iss',
  'client_assertion_type', 'subject_token_type', 'actor_token_type', 'requested_token_type', 'issued_token_type', 'audience', 'resource',
  'prompt', 'access_type', 'token_endpoint', 'token_endpoint_auth_method', 'token_endpoint_auth_methods_supported', 'error_codes',
  'trace_id', 'correlation_id', 'key_ops', 'kid', 'kty', 'keys', 'use', 'alg', 'status_code', 'error_code', 'code_challenge_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported', 'authorization_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'tokens',
]);

const PUBLIC_SUFFIX = /(_endpoint|_uri|_url|_supported|_type|_types|_method|_methods|_in|_hint|_at|_id|_ids)$/;
const SECRETISH = /token|secret|key|code|pass|assertion|session|auth|credential|sig/i;
const JWK_PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

export type SecretClass = 'A' | 'B';

/** Whether a parameter/field name holds a secret: by inventory, or by secret-ish name with a high-entropy value. */
export function secretClass(name: string, value: string, inJwk = false): SecretClass | undefined {
  const n = name.toLowerCase();
  if (CLASS_A.has(n)) return 'A';
  if (CLASS_B.has(n)) return 'B';
  if (inJwk && JWK_PRIVATE.has(n)) return 'A';
  if (PUBLIC.has(n) || PUBLIC_SUFFIX.test(n)) return undefined;
  if (SECRETISH.test(n) && highEntropy(value) && !/^https?:\/\/[^?#]*$/.test(value)) return 'A';
  return undefined;
}

/** ≥ 20 characters with enough variety to be a generated secret. */
export function highEntropy(value: string): boolean {
  if (value.length < 20 || /\s/.test(value)) return false;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / value.length;
    h -= p * Math.log2(p);
  }
  return h >= 3;
}

/** Secret-shaped values recognised anywhere (§4.1 value-shape detectors). */
const SHAPES: Array<{ label: string; re: RegExp }> = [
  { label: 'jwt', re: /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g },
  { label: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g },
  { label: 'slack_token', re: /\bxox(?:[abpers]|e\.xox[bp])-[A-Za-z0-9-]{8,}/g },
  { label: 'google_token', re: /\bya29\.[A-Za-z0-9_-]{16,}|(?<![\w/])1\/\/[A-Za-z0-9_-]{16,}|(?<![\w/])4\/0[A-Za-z0-9_-]{16,}/g },
  { label: 'aws_key', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { label: 'stripe_key', re: /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/g },
];

export function hasSecretShape(value: string): boolean {
  return SHAPES.some(({ re }) => {
    re.lastIndex = 0;
    return re.test(value);
  });
}

/** Values shorter than this are not swept elsewhere (too likely to be ordinary words); also the index prefix length. */
const MIN_SWEEP = 8;
/** Most distinct secrets swept per exchange; later ones are still redacted where they are named. */
const MAX_KNOWN = 2_000;

/** Per-exchange collector. Discard it once the exchange is redacted. */
export class SecretCollector {
  readonly occurrences: SecretOccurrence[] = [];
  #fp: Fingerprinter;
  #known = new Set<string>();
  #byPrefix = new Map<string, Array<{ text: string; marker: string }>>();
  #generation = 0;
  /** Bitmap of the first character (codes < 256) of every indexed prefix: most text positions are rejected without a lookup. */
  #firstChars = new Uint8Array(256);
  #registry: MintOptions['registry'];
  #seen = new Set<string>();
  #cache = new Map<string, Array<[string, SecretRef]>>();

  constructor(fingerprinter: Fingerprinter, registry?: MintOptions['registry']) {
    this.#fp = fingerprinter;
    this.#registry = registry;
  }

  fp(kind: string, value: string): string {
    return this.#fp.fp(kind, value);
  }

  /** Grows whenever a new secret is remembered: text swept before that must be swept again. */
  get generation(): number {
    return this.#generation;
  }

  /** Mints a SecretRef, remembers the raw value for sweeping, and records where it was seen. */
  mint(kind: string, name: string, value: string, place?: SecretPlace, options: MintOptions = {}): SecretRef {
    // The same secret is met several times per exchange (facts, body, URL): compute its facts once.
    // Keyed by the value itself, then by kind/name: concatenating a long value (a JWT) into one key string
    // cost more than the lookup saved.
    const key = `${kind}\0${name}\0${options.variants ? 1 : 0}`;
    let byKey = this.#cache.get(value);
    let ref = byKey?.find((entry) => entry[0] === key)?.[1];
    if (!ref) {
      ref = this.#fp.mint(kind, name, value, kind === 'client_secret' ? { ...options, registry: this.#registry } : options);
      if (!byKey) this.#cache.set(value, (byKey = []));
      byKey.push([key, ref]);
      // Cookie values are often benign words (`theme=darkmode`): only sweep for long ones elsewhere.
      if (!kind.startsWith('cookie:') || value.length >= 12) this.remember(value, ref.display);
    }
    if (place) {
      const key = `${place}\0${name}\0${ref.fp}`;
      if (!this.#seen.has(key)) {
        this.#seen.add(key);
        this.occurrences.push({ place, name, ref });
      }
    }
    return ref;
  }

  /** Adds a raw value (≥ 8 chars, so short common words are not blanked everywhere) and its encodings to the sweep list. */
  remember(value: string, marker: string): void {
    if (value.length < MIN_SWEEP || this.#known.has(value) || value.includes('[REDACTED') || this.#known.size >= MAX_KNOWN) return;
    this.#known.add(value);
    this.#generation++;
    const variants = new Set<string>([value]);
    const add = (v: string) => {
      if (v.length >= MIN_SWEEP) variants.add(v);
    };
    const uriEncoded = encodeURIComponent(value);
    add(uriEncoded);
    // application/x-www-form-urlencoded (as URLSearchParams writes it), without building a URLSearchParams.
    add(uriEncoded.replace(/%20/g, '+').replace(/[!'()~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`));
    add(JSON.stringify(value).slice(1, -1));
    add(Buffer.from(value, 'utf8').toString('base64').replace(/=+$/, ''));
    add(Buffer.from(value, 'utf8').toString('base64url'));
    add(encodeURIComponent(uriEncoded));
    const trimmed = value.trim();
    if (trimmed !== value) add(trimmed);
    for (const text of variants) {
      const prefix = text.slice(0, MIN_SWEEP);
      const code = prefix.charCodeAt(0);
      if (code < 256) this.#firstChars[code] = 1;
      const list = this.#byPrefix.get(prefix) ?? [];
      list.push({ text, marker });
      list.sort((a, b) => b.text.length - a.text.length);
      this.#byPrefix.set(prefix, list);
    }
  }

  /**
   * Replaces every remembered secret (any encoding) and every secret-shaped value in `text`.
   * Known values are found through an index of their first 8 characters: linear in the text length,
   * whatever the number of secrets (a JSON body can hold thousands).
   */
  sweep(text: string, _name = 'value'): string {
    if (!text) return text;
    let out = this.#byPrefix.size && text.length >= MIN_SWEEP ? this.#replaceKnown(text) : text;
    for (const { label, re } of SHAPES) {
      re.lastIndex = 0;
      if (!re.test(out)) continue;
      re.lastIndex = 0;
      out = out.replace(re, (match) => this.mint(`shape:${label}`, label, match).display);
    }
    return out;
  }

  #replaceKnown(text: string): string {
    let result = '';
    let last = 0;
    const first = this.#firstChars;
    for (let i = 0; i <= text.length - MIN_SWEEP;) {
      const code = text.charCodeAt(i);
      if (code < 256 && !first[code]) {
        i++;
        continue;
      }
      const candidates = this.#byPrefix.get(text.slice(i, i + MIN_SWEEP));
      const hit = candidates?.find((k) => text.startsWith(k.text, i));
      if (hit) {
        result += text.slice(last, i) + hit.marker;
        i += hit.text.length;
        last = i;
      } else i++;
    }
    return last === 0 ? text : result + text.slice(last);
  }
}
