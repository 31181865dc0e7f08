/**
 * Decoding of raw wire data: URLs, forms (exactly one decode, order and duplicates kept), JSON,
 * Basic credentials, cookies, HTML title/excerpt and form_post inputs. Pure; no secret handling —
 * callers decide what is secret.
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { CapturedBody, RawHeaders } from '../capture/types.js';
import type { BodyFormat } from './types.js';

export type Pairs = Array<[string, string]>;

/** One form/query decode: `+` → space, then percent-decoding; malformed escapes are kept verbatim. */
export function formDecode(component: string): string {
  const spaced = component.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%[0-9a-fA-F]{2}/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

/** Splits `a=1&b=2&a=3` into pairs (one decode each), keeping order, duplicates and empty values. */
export function parseForm(text: string): Pairs {
  const out: Pairs = [];
  if (!text) return out;
  for (const segment of text.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const name = eq === -1 ? segment : segment.slice(0, eq);
    const value = eq === -1 ? '' : segment.slice(eq + 1);
    out.push([formDecode(name), formDecode(value)]);
  }
  return out;
}

/** Raw segments of a form/query string, for re-serialising with some values replaced. */
export function formSegments(text: string): Array<{ raw: string; name: string; value: string; hasEq: boolean }> {
  if (!text) return [];
  return text.split('&').map((raw) => {
    const eq = raw.indexOf('=');
    return {
      raw,
      name: formDecode(eq === -1 ? raw : raw.slice(0, eq)),
      value: eq === -1 ? '' : formDecode(raw.slice(eq + 1)),
      hasEq: eq !== -1,
    };
  });
}

export interface UrlInfo {
  scheme: string;
  host: string;
  port: number;
  explicitPort: boolean;
  path: string;
  query?: string;
  fragment?: string;
  base: string;
  isLoopback: boolean;
}

/** Parses an absolute URL without normalising its query or path encoding (the bytes matter). */
export function parseUrl(url: string): UrlInfo {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s.exec(url);
  if (!m) {
    return { scheme: '', host: '', port: 0, explicitPort: false, path: url.split(/[?#]/)[0] ?? '', query: url.split('?')[1]?.split('#')[0], base: url.split(/[?#]/)[0] ?? '', isLoopback: false };
  }
  const scheme = (m[1] ?? '').toLowerCase();
  const authority = (m[2] ?? '').replace(/^.*@/, '');
  let host = authority;
  let portText = '';
  const v6 = /^\[([^\]]*)\](?::(\d*))?$/.exec(authority);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2] ?? '';
  } else {
    const idx = authority.lastIndexOf(':');
    if (idx !== -1) {
      host = authority.slice(0, idx);
      portText = authority.slice(idx + 1);
    }
  }
  host = host.toLowerCase();
  const explicitPort = portText !== '';
  const port = explicitPort ? Number(portText) : scheme === 'https' ? 443 : scheme === 'http' ? 80 : 0;
  const path = m[3] || '/';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const base = `${scheme}://${hostPart}${explicitPort ? `:${portText}` : ''}${m[3] ?? ''}`;
  return {
    scheme, host, port, explicitPort, path,
    ...(m[4] !== undefined ? { query: m[4] } : {}),
    ...(m[5] !== undefined ? { fragment: m[5] } : {}),
    base,
    isLoopback: isLoopbackHost(host),
  };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

export function headerValue(headers: RawHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

export function mediaType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const t = contentType.split(';')[0]?.trim().toLowerCase();
  return t || undefined;
}

/** Decoded body text: the proxy's `decoded` copy, or bytes (already decoded in HAR imports), or our own decompression. */
export function bodyText(body: CapturedBody, contentEncoding: string | undefined): { text?: string; error?: string } {
  if (body.decoded) return { text: body.decoded.toString('utf8') };
  let bytes = body.bytes;
  const enc = contentEncoding?.trim().toLowerCase();
  if (enc && enc !== 'identity' && looksBinary(bytes)) {
    try {
      if (enc.includes('gzip')) bytes = gunzipSync(bytes);
      else if (enc.includes('br')) bytes = brotliDecompressSync(bytes);
      else if (enc.includes('deflate')) {
        try {
          bytes = inflateSync(bytes);
        } catch {
          bytes = inflateRawSync(bytes);
        }
      }
    } catch {
      return { error: body.decodeError ?? `could not decode ${enc} body` };
    }
  }
  if (bytes.length === 0) return { text: '' };
  if (looksBinary(bytes)) return { error: body.decodeError };
  return { text: bytes.toString('utf8') };
}

function looksBinary(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, 512);
  if (n === 0) return false;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return true;
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) odd++;
  }
  return odd / n > 0.1;
}

export function detectFormat(contentType: string | undefined, text: string | undefined): BodyFormat {
  if (text === undefined) return 'binary';
  const trimmed = text.trim();
  if (trimmed === '') return 'empty';
  const ct = contentType ?? '';
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && tryJson(trimmed) !== undefined) return 'json';
  if (ct.includes('multipart/')) return 'multipart';
  if (/^<!doctype html|^<html|<head[\s>]|<body[\s>]|<title>/i.test(trimmed) || ct.includes('html')) return 'html';
  if (trimmed.startsWith('<') || ct.includes('xml')) return 'xml';
  if (ct.includes('x-www-form-urlencoded') || /^[\w.\-~%+]+=[^\s]*(&[\w.\-~%+]+=?[^\s]*)*$/.test(trimmed)) return 'form';
  return 'text';
}

const NO_JSON = Symbol('no-json');
export function tryJson(text: string): unknown {
  const v = parseJsonSafe(text);
  return v === NO_JSON ? undefined : v;
}

function parseJsonSafe(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NO_JSON;
  }
}

export interface BasicParts {
  validBase64: boolean;
  hasColon: boolean;
  rawUser?: string;
  rawPass?: string;
  user?: string;
  pass?: string;
}

/** Decodes `Basic xxx` per RFC 6749 §2.3.1 (base64, split at the first colon, then one form-decode each). */
export function parseBasic(credentials: string): BasicParts {
  const b64 = credentials.trim();
  const validBase64 = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && b64.length % 4 === 0;
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const idx = decoded.indexOf(':');
  if (idx === -1) return { validBase64, hasColon: false };
  const rawUser = decoded.slice(0, idx);
  const rawPass = decoded.slice(idx + 1);
  return { validBase64, hasColon: true, rawUser, rawPass, user: formDecode(rawUser), pass: formDecode(rawPass) };
}

/** `a=1; b=2` → pairs (values verbatim). */
export function parseCookieHeader(value: string): Pairs {
  const out: Pairs = [];
  for (const part of value.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    out.push(eq === -1 ? ['', p] : [p.slice(0, eq).trim(), p.slice(eq + 1).trim()]);
  }
  return out;
}

export function parseSetCookie(value: string): { name: string; value: string; attributes: Record<string, string>; rawAttributes: string } {
  const semi = value.indexOf(';');
  const first = semi === -1 ? value : value.slice(0, semi);
  const rawAttributes = semi === -1 ? '' : value.slice(semi);
  const eq = first.indexOf('=');
  const name = eq === -1 ? '' : first.slice(0, eq).trim();
  const v = eq === -1 ? first.trim() : first.slice(eq + 1).trim();
  const attributes: Record<string, string> = {};
  for (const attr of rawAttributes.split(';')) {
    const a = attr.trim();
    if (!a) continue;
    const e = a.indexOf('=');
    attributes[(e === -1 ? a : a.slice(0, e)).trim().toLowerCase()] = e === -1 ? '' : a.slice(e + 1).trim();
  }
  return { name, value: v, attributes, rawAttributes };
}

/** `Bearer realm="x", error="invalid_token"` → challenges (RFC 9110 §11.6.1, simplified). */
export function parseWwwAuthenticate(value: string): Array<{ scheme: string; params: Record<string, string> }> {
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  const re = /([A-Za-z][\w!#$%&'*+.^`|~-]*)(?:\s+((?:[\w!#$%&'*+.^`|~-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?\s*)*))?/g;
  let rest = value.trim();
  let guard = 0;
  while (rest && guard++ < 10) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m || m.index !== 0) break;
    const params: Record<string, string> = {};
    const pr = /([\w!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
    for (let p = pr.exec(m[2] ?? ''); p; p = pr.exec(m[2] ?? '')) {
      params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
    }
    out.push({ scheme: m[1] ?? '', params });
    rest = rest.slice(m[0].length).replace(/^[\s,]+/, '');
  }
  return out;
}

/** Retry-After as delta-seconds or HTTP-date, relative to `now`. */
export function parseRetryAfter(raw: string, now: number): { raw: string; seconds?: number; until?: number } {
  const t = raw.trim();
  if (/^\d+$/.test(t)) {
    const seconds = Number(t);
    return { raw: t, seconds, until: now + seconds * 1000 };
  }
  const date = Date.parse(t);
  if (Number.isFinite(date)) return { raw: t, seconds: Math.max(0, Math.round((date - now) / 1000)), until: date };
  return { raw: t.slice(0, 100) };
}
