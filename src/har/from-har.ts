/**
 * Foreign HAR → `CapturedExchange`, so `analyze` runs a capture made elsewhere (Chrome, Firefox,
 * mitmproxy, Charles, Playwright …) through the same engine as live traffic. These files carry raw
 * secrets: the result is pre-redaction data and must go straight into the engine, nowhere else.
 * Missing or odd fields are tolerated; an entry without a usable URL is skipped and reported.
 */
import type { CapturedBody, CapturedExchange, RawHeaders, TransportError } from '../capture/types.js';
import { StandIns } from './stand-ins.js';

/** The loose shape other tools write: everything optional, extra fields ignored. */
export interface ForeignHarEntry {
  startedDateTime?: unknown;
  time?: unknown;
  request?: {
    method?: unknown;
    url?: unknown;
    httpVersion?: unknown;
    headers?: unknown;
    postData?: { mimeType?: unknown; text?: unknown; params?: unknown; encoding?: unknown; _encoding?: unknown };
    bodySize?: unknown;
  };
  response?: {
    status?: unknown;
    statusText?: unknown;
    httpVersion?: unknown;
    headers?: unknown;
    content?: { size?: unknown; text?: unknown; encoding?: unknown; mimeType?: unknown };
    bodySize?: unknown;
    _error?: unknown;
  };
  timings?: Record<string, unknown>;
  serverIPAddress?: unknown;
  _error?: unknown;
}

export interface SkippedEntry {
  index: number;
  reason: string;
}

export interface HarImport {
  exchanges: CapturedExchange[];
  skipped: SkippedEntry[];
  /** Tool that wrote the file (`log.creator.name`), when stated. */
  creator?: string;
  /** Redaction markers replaced by stand-ins: above 0 the input was already redacted (stand-ins.ts). */
  standIns: number;
}

export class HarImportError extends Error {
  readonly code = 'OAL_ERR_HAR_INVALID';
}

/**
 * Parses HAR text. Tolerates a UTF-8 byte-order mark (Windows tools write one). The error never
 * quotes the text: a parser excerpt of a HAR file would print its secrets.
 */
export function parseHarText(text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    throw new HarImportError('not a HAR file: the content is not JSON');
  }
}

export function harToCaptured(har: unknown): HarImport {
  const log = (har as { log?: { entries?: unknown; creator?: { name?: unknown } } } | null)?.log;
  if (!log || !Array.isArray(log.entries)) throw new HarImportError('not a HAR file: no log.entries array');
  const creator = typeof log.creator?.name === 'string' ? log.creator.name : undefined;
  const exchanges: CapturedExchange[] = [];
  const skipped: SkippedEntry[] = [];
  const standIns = new StandIns();
  log.entries.forEach((raw: unknown, index: number) => {
    const entry = (raw ?? {}) as ForeignHarEntry;
    const rawUrl = str(entry.request?.url);
    const url = rawUrl === undefined ? undefined : standIns.text(rawUrl);
    if (!url || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
      skipped.push({ index, reason: 'entry has no absolute request URL' });
      return;
    }
    if (/^(data|blob|chrome-extension|about):/i.test(url)) {
      skipped.push({ index, reason: 'not a network request' });
      return;
    }
    exchanges.push(toCaptured(entry, url, index, standIns));
  });
  // Capture order: by start time, file order breaking ties (tools do not always sort).
  const order = new Map(exchanges.map((e, i) => [e, i]));
  exchanges.sort((a, b) => a.timings.start - b.timings.start || order.get(a)! - order.get(b)!);
  return { exchanges, skipped, ...(creator ? { creator } : {}), standIns: standIns.count };
}

function toCaptured(entry: ForeignHarEntry, url: string, index: number, standIns: StandIns): CapturedExchange {
  const start = Date.parse(str(entry.startedDateTime) ?? '');
  const timings = phaseTimes(Number.isFinite(start) ? start : 0, entry);
  const requestHeaders = headersOf(entry.request?.headers, standIns);
  const captured: CapturedExchange = {
    id: `har-${index + 1}`,
    timings,
    request: {
      method: (str(entry.request?.method) ?? 'GET').toUpperCase(),
      url,
      httpVersion: versionOf(entry.request?.httpVersion),
      headers: requestHeaders,
      body: requestBody(entry, requestHeaders, standIns),
    },
  };
  if (url.toLowerCase().startsWith('https://')) {
    try {
      const parsed = new URL(url);
      captured.connectTarget = `${parsed.hostname}:${parsed.port || '443'}`;
    } catch {
      // keep it without a connect target
    }
  }
  const status = num(entry.response?.status);
  const errorText = str(entry.response?._error) ?? str(entry._error);
  if (status !== undefined && status > 0) {
    const headers = headersOf(entry.response?.headers, standIns);
    captured.response = {
      status,
      statusText: str(entry.response?.statusText) ?? '',
      httpVersion: versionOf(entry.response?.httpVersion),
      headers,
      body: responseBody(entry, headers, standIns),
    };
  } else {
    captured.error = transportError(errorText);
  }
  return captured;
}

/** Phase timestamps from HAR durations; -1 (unknown) phases take no time. */
function phaseTimes(start: number, entry: ForeignHarEntry): CapturedExchange['timings'] {
  const t = entry.timings ?? {};
  const ms = (key: string): number => {
    const value = num(t[key]);
    return value !== undefined && value > 0 ? value : 0;
  };
  // HAR 1.2 counts ssl inside connect (Chrome does); mitmproxy and Charles write them apart. Only
  // an ssl longer than connect proves they are apart; otherwise take connect as the total.
  const connect = ms('blocked') + ms('dns') + (ms('ssl') > ms('connect') ? ms('connect') + ms('ssl') : ms('connect'));
  const upstreamConnected = start + connect;
  const requestSent = upstreamConnected + ms('send');
  const responseHeaders = requestSent + ms('wait');
  let end = responseHeaders + ms('receive');
  const total = num(entry.time);
  if (total !== undefined && total > 0 && end === start) end = start + total;
  return { start, upstreamConnected, requestSent, responseHeaders, end };
}

function headersOf(value: unknown, standIns: StandIns): RawHeaders {
  if (!Array.isArray(value)) return [];
  const headers: RawHeaders = [];
  for (const item of value as Array<{ name?: unknown; value?: unknown }>) {
    const name = str(item?.name);
    // HTTP/2 pseudo-headers (Chrome writes :authority, :path …) are not headers the AS reads.
    if (!name || name.startsWith(':')) continue;
    headers.push([name, standIns.header(name, str(item.value) ?? String(item.value ?? ''))]);
  }
  return headers;
}

function requestBody(entry: ForeignHarEntry, headers: RawHeaders, standIns: StandIns): CapturedBody {
  const post = entry.request?.postData;
  let bytes = Buffer.alloc(0);
  if (post) {
    const text = str(post.text);
    const encoding = str(post.encoding) ?? str(post._encoding);
    if (text !== undefined) bytes = encoding === 'base64' ? Buffer.from(text, 'base64') : Buffer.from(standIns.text(text), 'utf8');
    else if (Array.isArray(post.params)) bytes = Buffer.from(standIns.text(formFromParams(post.params)), 'utf8');
  }
  return bodyOf(bytes, num(entry.request?.bodySize), headers, false);
}

function responseBody(entry: ForeignHarEntry, headers: RawHeaders, standIns: StandIns): CapturedBody {
  const content = entry.response?.content;
  const text = str(content?.text);
  const bytes = text === undefined ? Buffer.alloc(0) : str(content?.encoding) === 'base64' ? Buffer.from(text, 'base64') : Buffer.from(standIns.text(text), 'utf8');
  // A body the tool left out (Chrome drops large or evicted ones) is a truncated capture, not an empty body.
  const missing = text === undefined && (num(content?.size) ?? 0) > 0;
  return bodyOf(bytes, num(entry.response?.bodySize) ?? num(content?.size), headers, missing);
}

/**
 * HAR stores bodies already decompressed. When the headers say the body travelled compressed,
 * the content is given as the decoded copy so the engine does not try to decompress it again.
 */
function bodyOf(bytes: Buffer, declared: number | undefined, headers: RawHeaders, missing: boolean): CapturedBody {
  const encoded = headers.some(([n, v]) => n.toLowerCase() === 'content-encoding' && v.trim().toLowerCase() !== 'identity');
  // Writers put -1 or 0 when they did not measure; an uncompressed body is at least its content.
  const measured = declared !== undefined && declared > 0 ? declared : undefined;
  const size = measured === undefined ? bytes.length : encoded ? measured : Math.max(measured, bytes.length);
  return {
    bytes,
    size,
    truncated: missing,
    ...(encoded && bytes.length ? { decoded: bytes } : {}),
  };
}

function formFromParams(params: unknown[]): string {
  return (params as Array<{ name?: unknown; value?: unknown }>)
    .map((p) => `${encodeURIComponent(str(p?.name) ?? '')}=${encodeURIComponent(str(p?.value) ?? '')}`)
    .join('&');
}

/** Chrome's net::ERR_* and similar texts → the proxy's transport error codes; never echoes request data. */
function transportError(text: string | undefined): TransportError {
  const t = (text ?? '').toUpperCase();
  const pick = (code: string, message: string): TransportError => ({ code, message });
  if (/NAME_NOT_RESOLVED|ENOTFOUND|DNS/.test(t)) return pick('dns', 'host name not resolved (from the HAR file)');
  if (/CONNECTION_REFUSED|ECONNREFUSED/.test(t)) return pick('refused', 'connection refused (from the HAR file)');
  if (/CONNECTION_RESET|ECONNRESET|CONNECTION_CLOSED|EMPTY_RESPONSE/.test(t)) return pick('reset', 'connection reset (from the HAR file)');
  if (/TIMED_OUT|TIMEOUT/.test(t)) return pick('timeout', 'timed out (from the HAR file)');
  if (/CERT_DATE_INVALID|EXPIRED/.test(t)) return pick('tls_expired', 'TLS certificate expired (from the HAR file)');
  if (/CERT_COMMON_NAME_INVALID|HOSTNAME/.test(t)) return pick('tls_hostname', 'TLS certificate name mismatch (from the HAR file)');
  if (/CERT_AUTHORITY_INVALID|UNTRUSTED|SELF_SIGNED/.test(t)) return pick('tls_untrusted', 'TLS certificate not trusted (from the HAR file)');
  if (/SSL|TLS|CERT/.test(t)) return pick('tls_other', 'TLS failure (from the HAR file)');
  if (/ABORTED|CANCELED|CANCELLED/.test(t)) return pick('client_aborted', 'request aborted by the client (from the HAR file)');
  return pick('other', 'no response recorded in the HAR file');
}

function versionOf(value: unknown): string {
  const text = str(value)?.trim() ?? '';
  const match = /^(?:http\/)?(\d(?:\.\d)?)$/i.exec(text);
  if (match) return match[1]!.includes('.') ? match[1]! : `${match[1]}.0`; // Node writes 1.1, 2.0
  if (/^h2/i.test(text)) return '2.0';
  if (/^h3/i.test(text)) return '3.0';
  return '1.1';
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
