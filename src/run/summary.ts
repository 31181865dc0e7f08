/**
 * The report `oauth-lens run` prints when the command ends: how many exchanges and flows were
 * captured, then every OAuth exchange that carries findings with its primary finding first.
 * Built from wire summaries (already redacted), so it works the same for an in-process lens
 * and for one reached through the admin API (`--attach`).
 */
import type { WireFinding, WireSummary } from '../server/wire.js';

export interface SummaryOptions {
  color?: boolean;
  /** Most exchanges listed individually (default 20). */
  maxListed?: number;
  /** Shown as the place to look for details. */
  viewerHint?: string;
}

const ICON: Record<WireFinding['severity'], string> = { error: '✖', warning: '▲', info: '•' };
const COLOR: Record<WireFinding['severity'], string> = { error: '\x1b[31m', warning: '\x1b[33m', info: '\x1b[36m' };

export function formatRunSummary(summaries: WireSummary[], options: SummaryOptions = {}): string {
  const paint = (severity: WireFinding['severity'], text: string) =>
    options.color ? `${COLOR[severity]}${text}\x1b[0m` : text;
  const oauth = summaries.filter((s) => s.kind !== 'other');
  const flows = new Set(oauth.map((s) => s.flowId).filter(Boolean));
  const findings = summaries.flatMap((s) => s.findings);
  const count = (severity: WireFinding['severity']) => findings.filter((f) => f.severity === severity).length;
  const lines = [
    `oauth-lens: ${plural(summaries.length, 'exchange')} captured (${oauth.length} OAuth, ${plural(flows.size, 'flow')}); ` +
      `findings: ${count('error')} error, ${count('warning')} warning, ${count('info')} info`,
  ];
  const withFindings = summaries.filter((s) => s.findings.length > 0);
  const max = options.maxListed ?? 20;
  for (const summary of withFindings.slice(0, max)) {
    const status = summary.status ?? (summary.error ? summary.error.code : 'no response');
    lines.push(`  ${summary.kind.padEnd(9)} ${summary.method} ${summary.host}${summary.path} → ${status}`);
    const ordered = [...summary.findings].sort((a, b) => Number(b.primary) - Number(a.primary));
    for (const finding of ordered) {
      lines.push(`    ${paint(finding.severity, `${ICON[finding.severity]} ${finding.severity.padEnd(7)} ${finding.code}`)}  ${finding.title}`);
      if (finding.primary && finding.fix) lines.push(`      fix: ${finding.fix}`);
    }
  }
  if (withFindings.length > max) lines.push(`  … and ${withFindings.length - max} more exchanges with findings`);
  if (summaries.length === 0) {
    lines.push('  Nothing was captured. Does the command make HTTPS requests, and does NO_PROXY exclude its hosts?');
  }
  if (options.viewerHint) lines.push(`  details: ${options.viewerHint}`);
  return `${lines.join('\n')}\n`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
