/** HTML helpers for error pages and form_post responses: entities, title, visible-text excerpt, forms. */
import type { Pairs } from './parse.js';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: ' ' };
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1]?.toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

export function htmlTitle(html: string): string | undefined {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const t = m?.[1] ? decodeEntities(m[1]).replace(/\s+/g, ' ').trim() : undefined;
  return t ? t.slice(0, 200) : undefined;
}

/** Visible text of an HTML page, collapsed, first 200 characters (callers redact it). */
export function htmlExcerpt(html: string, max = 200): string {
  const body = html
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ');
  return decodeEntities(body).replace(/\s+/g, ' ').trim().slice(0, max);
}

export interface HtmlForm {
  action?: string;
  method?: string;
  inputs: Pairs;
}

/** Forms of an HTML page with their inputs (form_post authorization responses). */
export function htmlForms(html: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)(?:<\/form>|$)/gi;
  for (let m = formRe.exec(html); m; m = formRe.exec(html)) {
    const attrs = attributes(m[1] ?? '');
    const inputs: Pairs = [];
    const inputRe = /<input\b([^>]*)>/gi;
    const inner = m[2] ?? '';
    for (let i = inputRe.exec(inner); i; i = inputRe.exec(inner)) {
      const a = attributes(i[1] ?? '');
      if (a.name !== undefined) inputs.push([a.name, a.value ?? '']);
    }
    forms.push({ ...(attrs.action !== undefined ? { action: attrs.action } : {}), ...(attrs.method !== undefined ? { method: attrs.method.toLowerCase() } : {}), inputs });
  }
  return forms;
}

function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([\w:-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>/]+)))?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const name = (m[1] ?? '').toLowerCase();
    out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}
