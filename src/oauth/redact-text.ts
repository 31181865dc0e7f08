/** Redaction of structured and free text: JSON at any depth, HTML, multipart, `name=value` text. */
import { CLASS_A, CLASS_B, SecretCollector, secretClass } from './inventory.js';
import { htmlForms } from './html.js';
import { kindFor, secretOrText } from './redact-fields.js';
import type { SecretPlace } from './types.js';

/** Names whose value is secret even as a JSON number (`"password": 12345678`); `code` is left out: error codes are numbers. */
const NUMERIC_SECRET_NAMES = /^(password|passwd|pwd|passcode|pin|otp|secret|client_secret|api_?key)$/i;

export function redactJson(value: unknown, c: SecretCollector, place: SecretPlace, name = '', inJwk = false): unknown {
  if (typeof value === 'string') {
    if (name && secretClass(name, value, inJwk)) return value.length ? c.mint(kindFor(name), name, value, place).display : value;
    return c.sweep(value, name || 'value');
  }
  if (Array.isArray(value)) return value.map((v) => redactJson(v, c, place, name, inJwk));
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    const jwk = typeof obj.kty === 'string';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      // A non-string value under a secret name (number, object) is redacted whole unless it is structure to descend into.
      if (typeof v !== 'string' && typeof v !== 'object' && v !== null && v !== undefined && (CLASS_B.has(k.toLowerCase()) || NUMERIC_SECRET_NAMES.test(k))) {
        out[c.sweep(k)] = c.mint(kindFor(k), k, String(v), place).display;
      } else out[c.sweep(k)] = redactJson(v, c, place, k, jwk);
    }
    return out;
  }
  return value;
}

/** HTML: form_post inputs and attribute/text occurrences of secret-named values, then a sweep. */
export function redactHtml(html: string, c: SecretCollector): string {
  for (const form of htmlForms(html)) {
    for (const [n, v] of form.inputs) secretOrText(n, v, c, 'response.html');
  }
  return redactText(html, c);
}

/** multipart/form-data: secret-named parts are minted (and so swept), then the text is swept. */
export function redactMultipart(text: string, c: SecretCollector, side: 'request' | 'response'): string {
  // `name="x"` or a bare `name=x`; the last part of a body cut at the capture cap has no closing boundary.
  const part = /name=(?:"([^"]*)"|([^\s;"]+))[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)(?:\r?\n--|$(?![\s\S]))/g;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    const name = m[1] ?? m[2] ?? '';
    const value = m[3] ?? '';
    if (value.length >= 1 && secretClass(name, value)) c.mint(kindFor(name), name, value, side === 'request' ? 'request.form' : 'response.form');
  }
  return redactText(text, c);
}

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * `name=value`, `name: value`, `"name": "value"` for secret names only (inventory, or names that say token/secret/…),
 * so a harmless `said: "access_token"` cannot swallow the key that follows it.
 */
const NAMED_VALUE = new RegExp(
  `(["']?)(?<![\\w-])(${[...CLASS_A, ...CLASS_B].map(escapeRe).join('|')}|[\\w-]*(?:token|secret|passw|api_?key|apikey|assertion|session)[\\w-]*)\\1(\\s*[:=]\\s*)`
  // A quoted value runs to its closing quote (or the end of a truncated body); an unquoted one to a delimiter.
  + `(?:(")((?:[^"\\\\]|\\\\.)*)|(')([^']*)|()([^"'&\\s<>,;}\\]]*))`,
  'gi',
);

/** `<client_secret>value</client_secret>` (XML/SOAP bodies, any namespace prefix) for the same secret names. */
const XML_ELEMENT = new RegExp(
  `(<(?:[\\w-]+:)?(${[...CLASS_A, ...CLASS_B].map(escapeRe).join('|')}|[\\w-]*(?:token|secret|passw|api_?key|apikey|assertion|session)[\\w-]*)(?:\\s[^>]*)?>)([^<]+)(?=</)`,
  'gi',
);

function unescapeJson(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** Free text: `name=value` / `"name": "value"` pairs with secret names, remembered secrets and shapes. */
export function redactText(text: string, c: SecretCollector): string {
  const swept = text.replace(NAMED_VALUE, (m, q1: string, name: string, sep: string, ...rest: unknown[]) => {
    const [dq, dv, sq, sv, nq, nv] = rest as Array<string | undefined>;
    const q2 = dq ?? sq ?? nq ?? '';
    const raw = dv ?? sv ?? nv ?? '';
    // JSON-escaped inside double quotes: the secret is the unescaped value.
    const value = dq !== undefined ? unescapeJson(raw) : raw;
    if (!value || value.startsWith('[REDACTED') || !secretClass(name, value)) return m;
    if (value !== raw) c.remember(raw, c.mint(kindFor(name), name, value).display);
    return `${q1}${name}${q1}${sep}${q2}${c.mint(kindFor(name), name, value, 'response.html').display}`;
  }).replace(XML_ELEMENT, (m, open: string, name: string, value: string) => {
    const v = value.trim();
    if (!v || v.startsWith('[REDACTED') || !secretClass(name, v)) return m;
    return `${open}${c.mint(kindFor(name), name, v, 'response.html').display}`;
  });
  return c.sweep(swept);
}

/** Which structure a body was redacted as. */
