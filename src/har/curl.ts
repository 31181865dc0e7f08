/**
 * Copy as curl: a shell-safe command reproducing one redacted exchange's request (method, URL,
 * headers, body), with every redacted secret replaced by an environment placeholder and a leading
 * comment naming the variables to set. Quoting rules live in shell.ts; nothing user-controlled is
 * ever written outside single quotes, and comments contain only names this module generated.
 */
import type { BodyView, Exchange, RawHeaders, Redacted } from '../model.js';
import { splitMarkers, type Marker } from './markers.js';
import { PlaceholderSet } from './placeholders.js';
import { quoteLiteral, quoteWord, type WordPart } from './shell.js';

/** Headers curl must compute itself, or that belong to one hop only (RFC 9110 §7.6.1). */
const SKIPPED_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'http2-settings',
]);

/**
 * Basic credentials as redact.ts displays them (§4.2): `Basic [client_id=<id>]:[REDACTED client_secret …]`,
 * or with the username itself redacted: `Basic [[REDACTED basic_user …]]:[REDACTED client_secret …]`.
 */
const BASIC_DISPLAY = /^Basic \[(?:client_id=(.*?)|(\[REDACTED [^\]]*\]))\] ?: ?(\[REDACTED [^\]]*\])(.*)$/i;

export function exchangeToCurl(exchange: Redacted<Exchange>): string {
  return new CurlBuilder(exchange).build();
}

class CurlBuilder {
  #exchange: Exchange;
  #placeholders = new PlaceholderSet();
  #args: string[] = [];
  #notes: string[] = [];

  constructor(exchange: Exchange) {
    this.#exchange = exchange;
  }

  build(): string {
    const { request } = this.#exchange;
    const method = request.method.toUpperCase();
    const url = this.#word(request.url, 'url');
    const hasBody = this.#addBody(request.headers, request.body);
    this.#addHeaders(request.headers, hasBody);
    if (method === 'HEAD') this.#args.unshift('--head');
    else if (method !== (hasBody ? 'POST' : 'GET')) this.#args.unshift(`-X ${quoteLiteral(request.method)}`);
    // --globoff: without it curl reads [] and {} in the URL (IPv6 hosts, JSON in a query) as ranges.
    // A URL is never read as an option, even a malformed one starting with `-`.
    const command = [`curl ${request.url.startsWith('-') ? '--url ' : ''}${url}`, '  --globoff', ...this.#args.map((arg) => `  ${arg}`)];
    const continued = command.map((line, i) => (i < command.length - 1 ? `${line} \\` : line));
    return [...this.#comment(), ...continued].join('\n') + '\n';
  }

  #comment(): string[] {
    const out = [`# oauth-lens: replay of exchange ${safeId(this.#exchange.id)}`];
    const placeholders = this.#placeholders.list();
    if (placeholders.length) {
      out.push('# Secrets were redacted. Set these first (values exactly as the server received them):');
      for (const p of placeholders) {
        const size = p.length >= 0 ? `, ${p.length} chars` : '';
        const url = p.places.has('url') ? ' (URL-encoded)' : '';
        out.push(`#   export ${p.variable}=...   # ${[...p.places].sort().join('+')}${size}${url}`);
      }
    }
    out.push(...this.#notes.map((note) => `# note: ${note}`));
    return out;
  }

  /** Adds body arguments; returns whether curl will send a body. */
  #addBody(headers: RawHeaders, body: BodyView): boolean {
    if (body.truncated) this.#notes.push('the request body was truncated at the capture cap; the replay sends what was kept');
    if (body.form && isForm(headers)) {
      for (const [name, value] of body.form) {
        // --data-urlencode encodes the value as a conforming client would; the name goes pre-encoded.
        // An empty name would make curl drop the `=`, so that (junk) case goes raw.
        const encodedName = encodeURIComponent(name);
        const option = encodedName ? '--data-urlencode' : '--data-raw';
        this.#args.push(`${option} ${quoteWord([{ literal: `${encodedName}=` }, ...this.#parts(value, 'form')])}`);
      }
      return body.form.length > 0 || body.size > 0;
    }
    if (body.text !== undefined) {
      if (body.text === '' && body.size === 0) return false;
      // --data-raw: unlike -d/--data-binary it never reads a file for a leading `@`.
      this.#args.push(`--data-raw ${this.#word(body.text, 'body')}`);
      return true;
    }
    if (body.size > 0) this.#notes.push(`the ${body.size}-byte binary request body was not kept and is not replayed`);
    return false;
  }

  #addHeaders(headers: RawHeaders, hasBody: boolean): void {
    const host = hostOf(this.#exchange.request.url);
    const head: string[] = [];
    let compressed = false;
    for (const [name, value] of headers) {
      const lower = name.toLowerCase();
      if (SKIPPED_HEADERS.has(lower) || lower.startsWith(':')) continue;
      if (lower === 'host' && value.toLowerCase() === host) continue;
      if (lower === 'accept-encoding') {
        compressed = true;
        continue;
      }
      if (lower === 'authorization') {
        const basic = this.#basic(value);
        if (basic) {
          head.push(basic);
          continue;
        }
      }
      // `-H 'Name:'` would make curl drop the header; `-H 'Name;'` sends it empty.
      if (value === '') head.push(`-H ${quoteLiteral(`${name};`)}`);
      else head.push(`-H ${quoteWord([{ literal: `${name}: ` }, ...this.#parts(value, 'header')])}`);
    }
    if (hasBody && !headers.some(([n]) => n.toLowerCase() === 'content-type')) head.push(`-H ${quoteLiteral('Content-Type:')}`);
    if (compressed) head.push('--compressed');
    this.#args.unshift(...head);
  }

  /** Basic credentials as `-u`, with the secret as a placeholder; undefined when not in display form. */
  #basic(value: string): string | undefined {
    const match = BASIC_DISPLAY.exec(value);
    if (!match) return undefined;
    const [, clientId, userMarker, secretMarker = '', flags = ''] = match;
    const secretPart = singleMarker(secretMarker);
    if (!secretPart) return undefined;
    if (flags.trim()) this.#notes.push('the Basic credentials carried anomaly flags; see the exchange findings');
    const secret = this.#placeholders.variableOf(secretPart, 'basic');
    const userPart = userMarker ? singleMarker(userMarker) : undefined;
    // curl -u splits at the first colon, so a client id containing one cannot go literally.
    const user: WordPart[] = clientId !== undefined && !clientId.includes(':') && !clientId.includes('[REDACTED')
      ? [{ literal: clientId }]
      : [{ variable: userPart ? this.#placeholders.variableOf({ ...userPart, name: 'client_id' }, 'basic') : this.#placeholders.reserve('CLIENT_ID', 'basic') }];
    return `-u ${quoteWord([...user, { literal: ':' }, { variable: secret }])}`;
  }

  #word(text: string, place: string): string {
    return quoteWord(this.#parts(text, place));
  }

  #parts(text: string, place: string): WordPart[] {
    return splitMarkers(text).map((segment) =>
      'literal' in segment ? segment : { variable: this.#placeholders.variableOf(segment.marker, place) },
    );
  }
}

function singleMarker(text: string): Marker | undefined {
  const segments = splitMarkers(text);
  const only = segments[0];
  return segments.length === 1 && only && 'marker' in only ? only.marker : undefined;
}

function isForm(headers: RawHeaders): boolean {
  const type = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? '';
  return /^\s*application\/x-www-form-urlencoded/i.test(type);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return '';
  }
}

/** Exchange ids are generated by the proxy, but a comment must never carry a newline. */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 80);
}
