/**
 * Small pure converters from the redacted model to HAR pieces: timings, headers, cookies,
 * query strings and URLs. Values arrive already redacted; nothing here sees a raw secret.
 */
import type { RawHeaders, Timings } from '../model.js';
import type { HarCookie, HarNameValue, HarTimings } from './types.js';

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * HAR timings from the proxy's phase timestamps. A phase that was not observed gets -1 when HAR
 * allows it (blocked, dns, connect, ssl) and 0 otherwise; its time is counted in the next phase
 * that was observed, so `time` (the sum) always equals end − start when the exchange finished.
 */
export function harTimings(t: Timings): HarTimings {
  let cursor = t.start;
  const span = (at: number | undefined): number | undefined => {
    if (at === undefined || !Number.isFinite(at)) return undefined;
    const ms = Math.max(0, at - cursor);
    cursor = Math.max(cursor, at);
    return round(ms);
  };
  const connect = span(t.upstreamConnected);
  const send = span(t.requestSent);
  const gotHeaders = t.responseHeaders !== undefined;
  // Without response headers, the time until the end (error or abort) was spent waiting.
  const wait = gotHeaders ? span(t.responseHeaders) : span(t.end);
  const receive = gotHeaders ? span(t.end) : undefined;
  return {
    blocked: -1,
    dns: -1,
    connect: connect ?? -1,
    // TLS time is inside `connect` (HAR 1.2); the proxy does not time it separately.
    ssl: -1,
    send: send ?? 0,
    wait: wait ?? 0,
    receive: receive ?? 0,
  };
}

/** HAR `time`: the sum of all known phases (ssl is already part of connect). */
export function harTotalTime(timings: HarTimings): number {
  const parts = [timings.blocked, timings.dns, timings.connect, timings.send, timings.wait, timings.receive];
  return round(parts.reduce((sum, ms) => sum + (ms > 0 ? ms : 0), 0));
}

export function harHeaders(headers: RawHeaders): HarNameValue[] {
  return headers.map(([name, value]) => ({ name, value }));
}

export function headerValue(headers: RawHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** `Cookie: a=1; b=2` headers as HAR cookies (values are already redacted markers). */
export function requestCookies(headers: RawHeaders): HarCookie[] {
  const cookies: HarCookie[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'cookie') continue;
    for (const part of value.split(';')) {
      const pair = splitPair(part.trim());
      if (pair) cookies.push({ name: pair[0], value: pair[1] });
    }
  }
  return cookies;
}

/** `Set-Cookie` headers as HAR cookies with their attributes. */
export function responseCookies(headers: RawHeaders): HarCookie[] {
  const cookies: HarCookie[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'set-cookie') continue;
    const [first = '', ...attributes] = value.split(';');
    const pair = splitPair(first.trim());
    if (!pair) continue;
    const cookie: HarCookie = { name: pair[0], value: pair[1] };
    for (const attribute of attributes) {
      const [key = '', val = ''] = (splitPair(attribute.trim()) ?? [attribute.trim(), '']);
      switch (key.toLowerCase()) {
        case 'path': cookie.path = val; break;
        case 'domain': cookie.domain = val; break;
        case 'expires': {
          const when = Date.parse(val);
          if (Number.isFinite(when)) cookie.expires = new Date(when).toISOString();
          break;
        }
        case 'httponly': cookie.httpOnly = true; break;
        case 'secure': cookie.secure = true; break;
        case 'samesite': cookie.sameSite = val; break;
      }
    }
    cookies.push(cookie);
  }
  return cookies;
}

function splitPair(text: string): [string, string] | undefined {
  if (!text) return undefined;
  const eq = text.indexOf('=');
  return eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
}

/** Decoded query parameters in order with duplicates; a malformed URL yields none. */
export function queryString(url: string): HarNameValue[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  const hash = url.indexOf('#', q);
  const search = url.slice(q + 1, hash < 0 ? undefined : hash);
  return Array.from(new URLSearchParams(search), ([name, value]) => ({ name, value }));
}

/**
 * The URL as a valid RFC 3986 URI: redaction markers (`[REDACTED … len=… fp=…]`) may put spaces
 * and brackets into the path or query, which HAR readers reject. Only characters that are never
 * valid there are percent-encoded; existing escapes are kept.
 */
export function uriSafe(url: string): string {
  const head = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url)?.[0] ?? '';
  const tail = url.slice(head.length);
  return head + tail.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]|%(?![0-9A-Fa-f]{2})/gu, (ch) =>
    Buffer.from(ch, 'utf8').toString('hex').toUpperCase().replace(/../g, '%$&'),
  );
}

/** `1.1` (Node) or `HTTP/1.1` → `HTTP/1.1`; empty when unknown. */
export function harHttpVersion(version: string | undefined): string {
  if (!version) return '';
  if (/^http\//i.test(version)) return version.toUpperCase();
  if (version === 'h2') return 'HTTP/2';
  return `HTTP/${version}`;
}
