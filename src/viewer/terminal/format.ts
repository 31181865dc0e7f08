/**
 * One exchange as terminal lines: a fixed-column line (time, kind, method, host+path, status,
 * duration) with its findings indented beneath (severity, code, title). Pure, so tests can pin it.
 */
import type { Severity } from '../../model.js';
import type { WireFinding, WireSummary } from '../../server/wire.js';

export interface TerminalStyle {
  color: boolean;
  /** Terminal width; the URL is shortened to fit. */
  columns: number;
}

const CODES = {
  reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m',
  blue: '\x1b[34m', magenta: '\x1b[35m', cyan: '\x1b[36m', gray: '\x1b[90m',
} as const;
type ColorName = keyof typeof CODES;

const KIND_COLORS: Record<string, ColorName> = {
  token: 'magenta', authorize: 'blue', authorize_response: 'blue', par: 'blue', discovery: 'cyan', jwks: 'cyan',
  userinfo: 'yellow', introspection: 'yellow', revocation: 'yellow', device_authorization: 'yellow', other: 'gray',
};
const SEVERITY: Record<Severity, { mark: string; color: ColorName }> = {
  error: { mark: '✖', color: 'red' },
  warning: { mark: '▲', color: 'yellow' },
  info: { mark: '●', color: 'blue' },
};

export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export function formatExchange(summary: WireSummary, style: TerminalStyle, options: { updated?: boolean; findings?: WireFinding[] } = {}): string[] {
  const paint = painter(style.color);
  const time = clock(summary.startedAt);
  const kind = summary.kind.padEnd(10).slice(0, 10);
  const method = summary.method.padEnd(6).slice(0, 7);
  const status = statusText(summary);
  const dur = summary.durationMs === undefined ? '…' : formatDuration(summary.durationMs);
  const marker = options.updated ? '↻ ' : '';
  const fixedWidth = time.length + 2 + kind.length + 1 + method.length + 1 + 2 + 5 + 1 + 8 + marker.length;
  // The URL column fills narrow terminals but stops at 72 so status and duration stay near it.
  const urlWidth = Math.min(72, Math.max(24, style.columns - fixedWidth));
  const target = shorten(`${summary.host}${summary.path}`, urlWidth);
  const statusColor: ColorName = summary.error || (summary.status ?? 0) >= 500 ? 'red' : (summary.status ?? 0) >= 400 ? 'yellow' : (summary.status ?? 0) >= 300 ? 'gray' : 'green';
  const line = [
    paint('dim', time), ' ', marker,
    paint(KIND_COLORS[summary.kind] ?? 'gray', kind), ' ',
    paint('bold', method), ' ',
    target.padEnd(urlWidth), '  ',
    paint(statusColor, status.padStart(5)), ' ',
    paint('dim', dur.padStart(8)),
  ].join('');
  const lines = [line.trimEnd()];
  for (const finding of options.findings ?? summary.findings) {
    const { mark, color } = SEVERITY[finding.severity];
    lines.push(`    ${paint(color, `${mark} ${finding.severity.padEnd(7)}`)} ${paint('bold', finding.code.padEnd(28))} ${finding.title}`);
  }
  return lines;
}

function statusText(summary: WireSummary): string {
  if (summary.error) return summary.error.code;
  return summary.status === undefined ? '…' : String(summary.status);
}

function painter(enabled: boolean) {
  return (color: ColorName, text: string) => (enabled ? `${CODES[color]}${text}${CODES.reset}` : text);
}

function clock(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

function shorten(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
