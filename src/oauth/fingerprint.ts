/**
 * Keyed fingerprints (oauth-rules.md §4.4): fp = first 16 bytes of HMAC-SHA256(K_install, kind \0 value),
 * so equal secrets of one kind correlate while the fp is useless as a guessing oracle outside this
 * install. This module, with analyze.ts, is where raw secret values are handled; it returns only facts.
 */
import { createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretRef, ValueAnomaly } from './types.js';

export const FINGERPRINT_KEY_FILE = 'fingerprint.key';

export class FingerprintKeyError extends Error {
  readonly code = 'OAL_ERR_FP_KEY';
}

/** Loads `<dir>/fingerprint.key` (32 random bytes, mode 0600), creating it on first use. */
export function loadFingerprintKey(dir: string): Buffer {
  const path = join(dir, FINGERPRINT_KEY_FILE);
  try {
    const key = readFileSync(path);
    if (key.length !== 32) throw new FingerprintKeyError(`${path} must hold exactly 32 bytes (has ${key.length}); delete it to regenerate`);
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs so fingerprints agree.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadFingerprintKey(dir);
    throw err;
  }
  return key;
}

const PLACEHOLDER = /^\$\{.*\}$|^\$[A-Za-z_][A-Za-z0-9_]*$|^%[A-Za-z_][A-Za-z0-9_]*%$|^\{\{.*\}\}$|^<[^<>]*>$/s;
const LITERALS = new Set([
  'undefined', 'null', 'none', 'nil', 'changeme', 'change-me', 'change_me', 'your-client-secret', 'your_client_secret',
  'client_secret', 'client-secret', 'secret', 'xxx', 'todo', 'password', 'your-client-id', 'your_client_id', 'false', 'true', 'nan',
  '[object object]',
]);

/** R11 anomalies of a credential-like value (as the AS received it). */
export function valueAnomalies(value: string): ValueAnomaly[] {
  const out: ValueAnomaly[] = [];
  if (value.length === 0) return ['empty'];
  if (/^\s/.test(value)) out.push('leading_whitespace');
  if (/\s$/.test(value)) out.push('trailing_whitespace');
  if (/[\r\n]/.test(value)) out.push('cr_lf');
  if (/\t/.test(value)) out.push('tab');
  if (value.includes('\0')) out.push('nul');
  const t = value.trim();
  if (t.length >= 2 && ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")))) out.push('quotes');
  if (PLACEHOLDER.test(t)) out.push('placeholder');
  if (LITERALS.has(t.toLowerCase())) out.push('literal');
  if (/[^\x00-\x7f]/.test(value)) out.push('non_ascii');
  return out;
}

/** Surrounding whitespace and one pair of wrapping quotes removed. */
export function trimCredential(value: string): string {
  let t = value.trim();
  if (t.length >= 2 && ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")))) t = t.slice(1, -1).trim();
  return t;
}

const PREFIXES = ['github_pat_', 'ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'xoxb-', 'xoxp-', 'xoxa-', 'xoxe.xoxp-', 'xoxe-', 'xoxs-', 'ya29.', '1//', '4/', 'AKIA', 'ASIA', 'sk_live_', 'sk_test_'];

/** Non-secret description of a value: documented prefix, JWT alg, or charset class. */
export function valueShape(value: string): string {
  const jwt = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.exec(value);
  if (jwt) {
    try {
      const header = JSON.parse(Buffer.from(value.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: unknown };
      return `jwt:${typeof header.alg === 'string' ? header.alg.slice(0, 16) : '?'}`;
    } catch {
      return 'jwt:?';
    }
  }
  const prefix = PREFIXES.find((p) => value.startsWith(p) && value.length > p.length + 8);
  if (prefix) return prefix;
  if (value.length === 0) return 'empty';
  if (/^[0-9a-f]+$/i.test(value)) return 'hex';
  if (/^[A-Za-z0-9]+$/.test(value)) return 'alnum';
  if (/^[A-Za-z0-9_-]+$/.test(value)) return 'base64url';
  if (/^[A-Za-z0-9+/]+=*$/.test(value)) return 'base64';
  if (/^[\x20-\x7e]+$/.test(value)) return 'printable';
  return 'other';
}

export const CLASS_B_KINDS = new Set(['state', 'nonce', 'session_state', 'jti', 'request_uri', 'user_code', 'login_hint']);

function safeDecode(value: string): string | undefined {
  try {
    const d = decodeURIComponent(value);
    return d === value ? undefined : d;
  } catch {
    return undefined;
  }
}

export interface MintOptions {
  /** Compute transform fps (authorization codes for R18, state for R28). */
  variants?: boolean;
  /** Configured secret SHA-256s per client, for `registeredAs` (client secrets). */
  registry?: ReadonlyArray<{ client: string; clientId: string; sha256: readonly string[] }>;
}

/** Computes fingerprints under one install key. The only holder of the key. */
export class Fingerprinter {
  #key: KeyObject;

  constructor(key: Buffer) {
    if (key.length < 16) throw new FingerprintKeyError('fingerprint key must be at least 16 bytes');
    this.#key = createSecretKey(Buffer.from(key));
  }

  /** 32 hex chars (16 bytes) of HMAC-SHA256(key, kind \0 value). */
  fp(kind: string, value: string): string {
    return createHmac('sha256', this.#key).update(kind).update('\0').update(value).digest('hex').slice(0, 32);
  }

  /** Replaces a raw secret by its facts. */
  mint(kind: string, name: string, value: string, options: MintOptions = {}): SecretRef {
    const fp = this.fp(kind, value);
    const trimmed = trimCredential(value);
    const ref: SecretRef = {
      redacted: true,
      kind,
      name,
      length: value.length,
      fp,
      trimmedFp: trimmed === value ? fp : this.fp(kind, trimmed),
      anomalies: valueAnomalies(value),
      shape: valueShape(value),
      display: display(name, value.length, fp),
    };
    if (CLASS_B_KINDS.has(kind)) ref.prefix = value.slice(0, 6);
    if (options.variants) {
      const v: NonNullable<SecretRef['variants']> = {};
      const decoded = safeDecode(value);
      if (decoded !== undefined) v.decoded = this.fp(kind, decoded);
      const encoded = encodeURIComponent(value);
      if (encoded !== value) v.encoded = this.fp(kind, encoded);
      if (value.includes(' ')) v.plus_as_space = this.fp(kind, value.replace(/ /g, '+'));
      if (value.trim() !== value) v.trimmed = this.fp(kind, value.trim());
      if (trimmed !== value.trim()) v.unquoted = this.fp(kind, trimmed);
      if (kind !== 'state') v.as_state = this.fp('state', value);
      ref.variants = v;
    }
    if (options.registry?.length) {
      const raw = sha256(value);
      const trim = trimmed === value ? raw : sha256(trimmed);
      const matches: NonNullable<SecretRef['registeredAs']> = [];
      for (const entry of options.registry) {
        if (entry.sha256.includes(raw)) matches.push({ client: entry.client, clientId: entry.clientId, trimmed: false });
        else if (entry.sha256.includes(trim)) matches.push({ client: entry.client, clientId: entry.clientId, trimmed: true });
      }
      if (matches.length) ref.registeredAs = matches;
    }
    return ref;
  }
}

/** The marker every sink prints in place of a secret. */
export function display(name: string, length: number, fp: string): string {
  return `[REDACTED ${sanitizeName(name)} len=${length} fp=${fp.slice(0, 12)}]`;
}

function sanitizeName(name: string): string {
  const clean = name.replace(/[^\w.:\-/]/g, '_').slice(0, 64);
  return clean || 'value';
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** BASE64URL(SHA256(ASCII(verifier))) — RFC 7636 §4.2 S256. */
export function pkceS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function pkceFacts(verifier: string): { s256: string; hex: string; stdBase64: string; doubleS256: string } {
  const digest = createHash('sha256').update(verifier, 'ascii').digest();
  const s256 = digest.toString('base64url');
  return {
    s256,
    hex: digest.toString('hex'),
    stdBase64: digest.toString('base64'),
    doubleS256: createHash('sha256').update(s256, 'ascii').digest('base64url'),
  };
}
