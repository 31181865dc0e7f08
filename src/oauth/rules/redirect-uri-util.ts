/**
 * The R01–R05 redirect_uri classifier (oauth-rules.md §1.1): two values, each already decoded exactly
 * once, compared byte for byte; when unequal, every dimension that differs is named, and the first in
 * the order trailing slash → scheme → host/port → case/encoding → path/query is the primary class.
 * redirect_uri is Class C (safe to show), so diffs print the values in full.
 */
import type { FindingCode } from './types.js';

export type DiffClass = 'trailing_slash' | 'scheme' | 'host_port' | 'case_encoding' | 'path_query';

const ORDER: readonly DiffClass[] = ['trailing_slash', 'scheme', 'host_port', 'case_encoding', 'path_query'];

export const CLASS_CODE: Record<DiffClass, FindingCode> = {
  trailing_slash: 'redirect_uri.trailing_slash',
  scheme: 'redirect_uri.scheme_mismatch',
  host_port: 'redirect_uri.host_or_port_mismatch',
  case_encoding: 'redirect_uri.case_or_encoding_mismatch',
  path_query: 'redirect_uri.path_or_query_mismatch',
};

export const CLASS_LABEL: Record<DiffClass, string> = {
  trailing_slash: 'a trailing slash',
  scheme: 'the scheme',
  host_port: 'the host or port',
  case_encoding: 'letter case or percent-encoding',
  path_query: 'the path or query',
};

export interface UriParts {
  scheme: string;
  host: string;
  port: string;
  /** Effective port: explicit, else the scheme default. */
  effectivePort: string;
  path: string;
  query?: string;
  fragment?: string;
  /** false when the value is not an absolute URI (e.g. double-encoded `https%3A%2F%2F…`). */
  absolute: boolean;
}

export interface UriDiff {
  equal: boolean;
  /** First class in §1.1 order, when unequal. */
  primary?: DiffClass;
  /** Every class that differs, in order (primary first). */
  classes: DiffClass[];
  /** Human notes on the exact difference (`one extra percent-encoding`, `localhost vs 127.0.0.1`). */
  notes: string[];
  /** Both loopback IP literals over http, only the port differs (RFC 8252 §7.3: any port must be allowed). */
  loopbackPortOnly: boolean;
  /** Index of the first differing character. */
  firstDifferenceAt: number;
}

const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

export function splitUri(value: string): UriParts {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s.exec(value);
  if (!m) return { scheme: '', host: '', port: '', effectivePort: '', path: value, absolute: false };
  const scheme = m[1] ?? '';
  const authority = (m[2] ?? '').replace(/^.*@/, '');
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
  const host = hp?.[1] ?? authority;
  const port = hp?.[2] ?? '';
  return {
    scheme,
    host,
    port,
    effectivePort: port || DEFAULT_PORT[scheme.toLowerCase()] || '',
    path: m[3] ?? '',
    ...(m[4] !== undefined ? { query: m[4] } : {}),
    ...(m[5] !== undefined ? { fragment: m[5] } : {}),
    absolute: true,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Case-folded, percent-decoded (twice, to see through double encoding), `+` read as space. */
function normalise(text: string, plusIsSpace: boolean): string {
  const spaced = plusIsSpace ? text.replace(/\+/g, ' ') : text;
  return safeDecode(safeDecode(spaced)).toLowerCase();
}

export function isLoopbackIp(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return /^127(?:\.\d{1,3}){3}$/.test(h) || h === '::1';
}

export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || isLoopbackIp(h);
}

/** RFC 1918 / container / wildcard addresses that leak from an inbound Host header. */
export function isInternalHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || /^10\./.test(h) || /^192\.168\./.test(h) || /^172\.(1[6-9]|2\d|3[01])\./.test(h)
    || h.endsWith('.internal') || h.endsWith('.local') || h.endsWith('.svc') || h.endsWith('.cluster.local')
    || (!h.includes('.') && !isLoopbackName(h) && h !== '');
}

function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function differsBySlash(a: string, b: string): boolean {
  return a + '/' === b || b + '/' === a;
}

function hostNote(a: UriParts, b: UriParts): string | undefined {
  const ha = a.host.toLowerCase();
  const hb = b.host.toLowerCase();
  if (ha !== hb) {
    if (isLoopbackName(ha) && isLoopbackName(hb)) return `loopback spelled differently: ${a.host} vs ${b.host}`;
    if (ha.replace(/^www\./, '') === hb.replace(/^www\./, '')) return `apex vs www: ${a.host} vs ${b.host}`;
    const internal = [a.host, b.host].find((h) => isInternalHost(h));
    if (internal) return `internal host name/address ${internal} leaked from the inbound Host header`;
    return `host ${a.host} vs ${b.host}`;
  }
  if (a.port !== b.port) {
    if (a.effectivePort === b.effectivePort) return `explicit default port :${a.port || b.port} vs implicit`;
    return `port ${a.effectivePort || '(none)'} vs ${b.effectivePort || '(none)'}`;
  }
  return undefined;
}

/**
 * Compares two redirect_uri values as an exact-match AS would (simple string comparison) and names
 * every way they differ. `a` is the reference (authorize / registered), `b` the other value.
 */
export function compareRedirectUris(a: string, b: string, labels: [string, string] = ['the first value', 'the second value']): UriDiff {
  const firstDifferenceAt = firstDifference(a, b);
  if (a === b) return { equal: true, classes: [], notes: [], loopbackPortOnly: false, firstDifferenceAt: -1 };
  const found = new Set<DiffClass>();
  const notes: string[] = [];
  const pa = splitUri(a);
  const pb = splitUri(b);

  if (!pa.absolute || !pb.absolute) {
    // Double-encoded whole URI (`https%3A%2F%2F…`) or case: only case/encoding can explain it.
    if (normalise(a, false) === normalise(b, false)) {
      notes.push(safeDecode(a) === b || safeDecode(b) === a ? 'one value is percent-encoded once more than the other' : 'values differ in case or percent-encoding');
      found.add('case_encoding');
    } else {
      found.add('path_query');
      notes.push('one value is not an absolute URI');
    }
    return result(found, notes, false, firstDifferenceAt);
  }

  if (pa.scheme !== pb.scheme) {
    if (pa.scheme.toLowerCase() === pb.scheme.toLowerCase()) {
      found.add('case_encoding');
      notes.push(`scheme case ${pa.scheme} vs ${pb.scheme}`);
    } else {
      found.add('scheme');
      notes.push(`${pa.scheme} vs ${pb.scheme}`);
    }
  }
  const hostDiffers = pa.host.toLowerCase() !== pb.host.toLowerCase() || pa.port !== pb.port;
  if (hostDiffers) {
    found.add('host_port');
    const note = hostNote(pa, pb);
    if (note) notes.push(note);
  } else if (pa.host !== pb.host) {
    found.add('case_encoding');
    notes.push(`host case ${pa.host} vs ${pb.host}`);
  }

  if (pa.path !== pb.path) {
    if (differsBySlash(pa.path, pb.path)) {
      found.add('trailing_slash');
      notes.push(`${pa.path.length > pb.path.length ? labels[0] : labels[1]} ends with an extra "/"`);
    } else {
      const na = normalise(pa.path, false);
      const nb = normalise(pb.path, false);
      if (na === nb) {
        found.add('case_encoding');
        notes.push(safeDecode(pa.path) === pb.path || safeDecode(pb.path) === pa.path ? 'path percent-encoded once more in one value' : 'path differs in case or percent-encoding');
      } else if (differsBySlash(na, nb)) {
        found.add('trailing_slash');
        found.add('case_encoding');
      } else {
        found.add('path_query');
        notes.push(`path ${pa.path || '(empty)'} vs ${pb.path || '(empty)'}`);
      }
    }
  }
  if (pa.query !== pb.query) {
    if (pa.query !== undefined && pb.query !== undefined && normalise(pa.query, true) === normalise(pb.query, true)) {
      found.add('case_encoding');
      notes.push('query differs in case or encoding (`+`/`%20`, `%2f`/`%2F`, double encoding)');
    } else if (pa.query !== undefined && pb.query !== undefined && sameParamsOtherOrder(pa.query, pb.query)) {
      found.add('path_query');
      notes.push('query parameters in a different order');
    } else {
      found.add('path_query');
      notes.push(`query ${pa.query === undefined ? '(none)' : `?${pa.query}`} vs ${pb.query === undefined ? '(none)' : `?${pb.query}`}`);
    }
  }
  if (pa.fragment !== pb.fragment) {
    found.add('path_query');
    notes.push('fragment differs');
  }
  const loopbackPortOnly = found.size === 1 && found.has('host_port') && pa.host.toLowerCase() === pb.host.toLowerCase()
    && isLoopbackIp(pa.host) && pa.scheme.toLowerCase() === 'http';
  return result(found, notes, loopbackPortOnly, firstDifferenceAt);
}

function sameParamsOtherOrder(a: string, b: string): boolean {
  return a.split('&').sort().join('&') === b.split('&').sort().join('&');
}

function result(found: Set<DiffClass>, notes: string[], loopbackPortOnly: boolean, firstDifferenceAt: number): UriDiff {
  const classes = ORDER.filter((c) => found.has(c));
  return { equal: false, ...(classes[0] ? { primary: classes[0] } : {}), classes, notes, loopbackPortOnly, firstDifferenceAt };
}

/** The two values one above the other with a caret under the first differing character (§1.1 evidence). */
export function alignedDiff(a: string, b: string, labels: [string, string]): string[] {
  const at = firstDifference(a, b);
  const width = Math.max(labels[0].length, labels[1].length);
  const pad = (s: string) => s.padEnd(width);
  return [`${pad(labels[0])}  ${a}`, `${pad(labels[1])}  ${b}`, `${' '.repeat(width + 2 + at)}^`];
}

function editDistance(a: string, b: string): number {
  if (a.length > 400 || b.length > 400) return Math.abs(a.length - b.length) + 400;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The registered entry closest to `value`: fewest, earliest-ranked differences, then smallest edit distance. */
export function nearestRegistered(value: string, registered: readonly string[], label = 'sent'): { uri: string; diff: UriDiff } | undefined {
  let best: { uri: string; diff: UriDiff; score: number } | undefined;
  for (const uri of registered) {
    const diff = compareRedirectUris(uri, value, ['the registered value', `the ${label} value`]);
    if (diff.equal) return { uri, diff };
    const rank = diff.classes.reduce((sum, c) => sum + 1000 * (1 + ORDER.indexOf(c)), 0);
    const score = rank + editDistance(uri, value);
    if (!best || score < best.score) best = { uri, diff, score };
  }
  return best && { uri: best.uri, diff: best.diff };
}

/**
 * R04 (d): the app put an unencoded redirect_uri in the authorize URL, so its own `&` split it and the
 * AS received a truncated value; the rest arrived as stray authorize parameters.
 */
export function unencodedSplit(authorizeValue: string, fullValue: string, authorizeQueryNames: readonly string[]): boolean {
  if (!fullValue.startsWith(authorizeValue) || fullValue.length === authorizeValue.length) return false;
  const rest = fullValue.slice(authorizeValue.length);
  if (rest.startsWith('#')) return true;
  if (!rest.startsWith('&')) return false;
  const names = rest.slice(1).split('&').map((seg) => seg.split('=')[0] ?? '');
  return names.length > 0 && names.every((n) => n !== '' && authorizeQueryNames.includes(n));
}
