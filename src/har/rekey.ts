/**
 * Per-export fingerprint re-keying (oauth-rules.md §4.2): every fingerprint in an exported file is
 * replaced by HMAC(salt, fp), truncated to the same length, under a fresh random salt per file.
 * Equal values inside one file still match each other; two files (or a file and the live store)
 * cannot be joined, and the install key's fingerprints never leave the process.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** `fp=0123456789ab` in redaction markers, also percent-encoded (`fp%3D…`) inside URLs. */
const FP_IN_TEXT = /(?<=^|[^A-Za-z0-9_]|%[0-9A-Fa-f]{2})fp(=|%3[Dd])([0-9a-fA-F]{12,64})(?![0-9a-fA-F])/g;
/** Object keys whose string values are fingerprints: `fp`, `codeFp`, `fps`, `fp_trimmed`, `secretFingerprint` … */
const FP_KEY = /fp|fingerprint/i;
const BARE_FP = /^[0-9a-fA-F]{8,64}$/;

export const SALT_BYTES = 32;
/** Hex characters of a fingerprint that sinks display (oauth-rules.md §4.4). */
const DISPLAY_HEX = 12;

export function freshSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

export class FingerprintRekeyer {
  #salt: Buffer;
  #memo = new Map<string, string>();
  /** Key names repeat across entries; testing each once keeps a 10k-entry export cheap. */
  #fpKeys = new Map<string, boolean>();

  constructor(salt: Buffer) {
    if (salt.length < 16) throw new RangeError('fingerprint salt must be at least 16 bytes');
    this.#salt = Buffer.from(salt);
  }

  /**
   * The re-keyed form of one fingerprint: same length, lower-case hex. Keyed on the first 12 hex
   * (what markers display), so a full fingerprint in evidence and the 12-hex marker of the same
   * value still share their first 12 characters after re-keying.
   */
  rekey(fp: string): string {
    const key = fp.slice(0, DISPLAY_HEX).toLowerCase();
    let full = this.#memo.get(key);
    if (full === undefined) {
      full = createHmac('sha256', this.#salt).update(key).digest('hex');
      this.#memo.set(key, full);
    }
    return full.slice(0, fp.length);
  }

  /** Re-keys every `fp=…` occurrence in free text (markers, details, URLs). */
  rekeyText(text: string): string {
    if (!text.includes('fp')) return text;
    return text.replace(FP_IN_TEXT, (_m, sep: string, fp: string) => `fp${sep}${this.rekey(fp)}`);
  }

  /**
   * A deep copy of `value` with every fingerprint re-keyed: free text everywhere, and bare hex
   * strings under fingerprint-named keys (evidence such as `{ codeFp: "…" }`).
   */
  rekeyDeep<T>(value: T): T {
    return this.#walk(value, false) as T;
  }

  #isFpKey(key: string): boolean {
    let yes = this.#fpKeys.get(key);
    if (yes === undefined) {
      yes = FP_KEY.test(key);
      if (this.#fpKeys.size < 10_000) this.#fpKeys.set(key, yes);
    }
    return yes;
  }

  #walk(value: unknown, underFpKey: boolean): unknown {
    if (typeof value === 'string') {
      return underFpKey && BARE_FP.test(value) ? this.rekey(value) : this.rekeyText(value);
    }
    if (Array.isArray(value)) return value.map((item) => this.#walk(item, underFpKey));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      const source = value as Record<string, unknown>;
      for (const key in source) {
        if (!Object.hasOwn(source, key)) continue;
        out[key] = this.#walk(source[key], underFpKey || this.#isFpKey(key));
      }
      return out;
    }
    return value;
  }
}
