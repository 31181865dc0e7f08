/**
 * Re-analysing a HAR that is already redacted (an oauth-lens export, or a copy from `analyze`):
 * each marker `[REDACTED name len=N fp=F]` is replaced by a well-formed stand-in value, so the
 * engine sees plausible secrets instead of bracketed text. A stand-in is derived only from the
 * marker's fingerprint and length, so equal secrets stay equal (a reused code is still a reused
 * code), lengths hold, and the charset is base64url (no false "malformed" findings). Basic
 * credentials in display form are rebuilt into valid base64. Nothing here can recover a secret:
 * the marker carries none.
 */
import { createHash } from 'node:crypto';
import { splitMarkers, type Marker } from './markers.js';

const MAX_LENGTH = 4096;
const DEFAULT_LENGTH = 24;
/** `Basic [client_id=<id>]:[REDACTED …]` or `Basic [[REDACTED basic_user …]]:[REDACTED …]`, as redact.ts writes. */
const BASIC_DISPLAY = /^(\s*Basic\s+)\[(?:client_id=(.*?)|(\[REDACTED [^\]]*\]))\] ?: ?(\[REDACTED [^\]]*\])\s*$/i;

export class StandIns {
  #byMarker = new Map<string, string>();
  /** Markers replaced so far (0 means the input was raw). */
  count = 0;

  /** Text with every marker replaced by its stand-in; unchanged when there is none. */
  text(value: string): string {
    if (!value.includes('REDACTED')) return value;
    const segments = splitMarkers(value);
    if (segments.every((s) => 'literal' in s)) return value;
    return segments.map((s) => ('literal' in s ? s.literal : this.#standIn(s.marker))).join('');
  }

  /** A header value; Basic credentials in display form become valid base64 again. */
  header(name: string, value: string): string {
    if (name.toLowerCase() === 'authorization' || name.toLowerCase() === 'proxy-authorization') {
      const basic = BASIC_DISPLAY.exec(value);
      if (basic) {
        const [, scheme = 'Basic ', clientId, userMarker, secretMarker = ''] = basic;
        const user = clientId !== undefined ? this.text(clientId) : this.text(userMarker ?? '');
        return `${scheme}${Buffer.from(`${user}:${this.text(secretMarker)}`, 'utf8').toString('base64')}`;
      }
    }
    return this.text(value);
  }

  #standIn(marker: Marker): string {
    const length = Math.min(MAX_LENGTH, marker.length > 0 ? marker.length : DEFAULT_LENGTH);
    const key = `${marker.fp || marker.name}\0${length}`;
    let value = this.#byMarker.get(key);
    if (value === undefined) {
      let out = '';
      for (let block = 0; out.length < length; block++) {
        out += createHash('sha256').update(`oauth-lens stand-in\0${key}\0${block}`).digest('base64url');
      }
      value = out.slice(0, length);
      this.#byMarker.set(key, value);
    }
    this.count++;
    return value;
  }
}
