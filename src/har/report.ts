/**
 * Human and machine renderings of an offline analysis. Everything printed comes from redacted
 * exchanges (URLs, findings, evidence); nothing is taken from the raw input file.
 */
import type { Finding } from '../model.js';
import type { HarAnalysis } from './analyze.js';
import type { HarEntry } from './types.js';

const SEVERITY_MARK: Record<Finding['severity'], string> = { error: '✖ error  ', warning: '▲ warning', info: '• info   ' };

export interface ReportContext {
  file: string;
  /** Where the redacted copy went, if written. */
  out?: string;
}

export function formatAnalysis(analysis: HarAnalysis, context: ReportContext): string {
  return formatLines(analysis, context).map(printable).join('\n') + '\n';
}

/**
 * The input file is untrusted: a URL or creator name carrying ESC sequences must not drive the
 * user's terminal. Control characters are shown as escapes instead.
 */
export function printable(line: string): string {
  return line.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function formatLines(analysis: HarAnalysis, context: ReportContext): string[] {
  const lines: string[] = [];
  // Rendered from the redacted copy's entries, so fingerprints match the file the user will share.
  const entries = analysis.har.log.entries;
  const oauth = entries.filter((e) => e._oauthLens.kind !== 'other');
  const findings = entries.flatMap((e) => e._oauthLens.findings);
  const errors = findings.filter((f) => f.severity === 'error').length;
  lines.push(
    `${context.file}${analysis.creator ? ` (written by ${analysis.creator})` : ''}: ${analysis.entries} entries, ` +
      `${oauth.length} OAuth exchanges, ${analysis.flows.length} flow${analysis.flows.length === 1 ? '' : 's'}, ` +
      `${findings.length} finding${findings.length === 1 ? '' : 's'} (${errors} error${errors === 1 ? '' : 's'})`,
  );
  if (analysis.skipped.length) lines.push(`skipped ${analysis.skipped.length} entries: ${[...new Set(analysis.skipped.map((s) => s.reason))].join('; ')}`);
  if (analysis.redactedInput) {
    const codes = [...new Set(analysis.suppressed.map((s) => s.finding.code))];
    lines.push(
      'The input was already redacted: secrets were analysed as stand-ins (equal values stay equal)' +
        (codes.length ? `; left out ${analysis.suppressed.length} finding(s) that need the real values (${codes.join(', ')}).` : '.'),
    );
  }
  const byId = new Map(entries.map((e) => [e._oauthLens.exchangeId, e]));
  const seqOf = new Map(analysis.exchanges.map((e) => [e.id, e.seq]));
  const shown = new Set<string>();
  for (const flow of analysis.flows) {
    lines.push('', `Flow ${flow.flowId}${flow.clientId ? ` · client ${flow.clientId}` : ''}${flow.provider ? ` · ${flow.provider}` : ''}`);
    for (const id of flow.exchangeIds) {
      const entry = byId.get(id);
      if (!entry) continue;
      shown.add(id);
      lines.push(...entryLines(entry, seqOf.get(id)));
    }
  }
  const loose = entries.filter((e) => !shown.has(e._oauthLens.exchangeId) && (e._oauthLens.kind !== 'other' || e._oauthLens.findings.length));
  if (loose.length) {
    lines.push('', 'Outside any flow');
    for (const entry of loose) lines.push(...entryLines(entry, seqOf.get(entry._oauthLens.exchangeId)));
  }
  if (!findings.length) lines.push('', 'No findings.');
  if (context.out) lines.push('', `Redacted copy: ${context.out}`);
  return lines.flatMap((line) => line.split('\n'));
}

function entryLines(entry: HarEntry, seq: number | undefined): string[] {
  const lens = entry._oauthLens;
  const status = entry.response.status > 0 ? String(entry.response.status) : `no response (${lens.error?.code ?? 'unknown'})`;
  const kind = lens.grantType ? `${lens.kind}(${lens.grantType})` : lens.kind;
  const at = entry.startedDateTime.slice(11, 23);
  const lines = [`  #${seq ?? '?'} ${at} ${entry.request.method} ${shorten(entry.request.url)} → ${status}  [${kind}]`];
  const findings = [...lens.findings].sort((a, b) => Number(b.primary ?? false) - Number(a.primary ?? false));
  for (const finding of findings) {
    lines.push(`     ${SEVERITY_MARK[finding.severity]} ${finding.code}${finding.primary === false ? ' (contributing)' : ''} — ${finding.title}`);
    for (const line of wrap(finding.detail, 96)) lines.push(`         ${line}`);
  }
  return lines;
}

function shorten(url: string): string {
  return url.length > 140 ? `${url.slice(0, 137)}...` : url;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/)) {
      if (line && line.length + word.length + 1 > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(line);
  }
  return out;
}

/** `--json`: flows, findings and exchange summaries; the redacted HAR is written separately. */
export function analysisToJson(analysis: HarAnalysis, context: ReportContext): unknown {
  return {
    file: context.file,
    ...(analysis.creator ? { creator: analysis.creator } : {}),
    entries: analysis.entries,
    skipped: analysis.skipped,
    ...(context.out ? { redactedCopy: context.out } : {}),
    redactedInput: analysis.redactedInput,
    suppressed: analysis.suppressed.map(({ exchangeId, finding }) => ({ exchangeId, code: finding.code })),
    flows: analysis.flows,
    // Fingerprints here match the redacted copy's: both come from its re-keyed entries.
    exchanges: analysis.har.log.entries.map((entry) => ({
      id: entry._oauthLens.exchangeId,
      startedDateTime: entry.startedDateTime,
      method: entry.request.method,
      url: entry.request.url,
      status: entry.response.status,
      kind: entry._oauthLens.kind,
      ...(entry._oauthLens.flowId ? { flowId: entry._oauthLens.flowId } : {}),
      ...(entry._oauthLens.grantType ? { grantType: entry._oauthLens.grantType } : {}),
      findings: entry._oauthLens.findings,
    })),
    findings: analysis.har.log.entries.flatMap((entry) => entry._oauthLens.findings.map((finding) => ({ exchangeId: entry._oauthLens.exchangeId, ...finding }))),
  };
}
