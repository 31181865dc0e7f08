/**
 * Reading the redaction markers that src/oauth/redact.ts writes in place of secrets:
 * `[REDACTED <name> len=<n> fp=<hex> <shape>]` (oauth-rules.md §4.2), raw or percent-encoded
 * inside URLs. Used by copy-as-curl to turn each marker into an environment placeholder.
 */

export interface Marker {
  /** Parameter, field or header name the secret was found under (`code`, `client_secret`, `cookie:sid` …). */
  name: string;
  /** -1 when the marker does not state it. */
  length: number;
  /** Lower-case hex; empty when the marker does not state it. */
  fp: string;
}

export type Segment = { literal: string } | { marker: Marker };

// len/fp are absent only on a few derived markers (`[REDACTED authorization]` for swept Basic credentials).
const RAW = String.raw`\[REDACTED ([^\s\]]+)(?: len=(\d+))?(?: fp=([0-9a-fA-F]{8,64}))?(?: [^\]\r\n]*)?\]`;
// The same marker after percent-encoding (URL query/fragment): spaces as %20 or +, `=` as %3D.
const SP = '(?:%20|\\+| )';
const EQ = '(?:%3[Dd]|=)';
const ENCODED = String.raw`%5[Bb]REDACTED${SP}((?:(?!${SP})[^%\]\s]|%(?!5[Dd])[0-9A-Fa-f]{2})+)${SP}len${EQ}(\d+)${SP}fp${EQ}([0-9a-fA-F]{8,64})(?:${SP}(?:(?!%5[Dd])[^\]\r\n])*)?(?:%5[Dd]|\])`;
const MARKER = new RegExp(`${RAW}|${ENCODED}`, 'g');

/** Splits text into literal runs and markers, in order; adjacent literals are merged. */
export function splitMarkers(text: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(MARKER)) {
    const at = match.index ?? 0;
    if (at > last) segments.push({ literal: text.slice(last, at) });
    const name = match[1] ?? safeDecode(match[4] ?? '');
    const lengthText = match[2] ?? match[5];
    const length = lengthText === undefined ? -1 : Number(lengthText);
    const fp = (match[3] ?? match[6] ?? '').toLowerCase();
    segments.push({ marker: { name, length, fp } });
    last = at + match[0].length;
  }
  if (last < text.length) segments.push({ literal: text.slice(last) });
  return segments;
}

export function hasMarker(text: string): boolean {
  MARKER.lastIndex = 0;
  const found = MARKER.test(text);
  MARKER.lastIndex = 0;
  return found;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
