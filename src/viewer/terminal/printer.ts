/**
 * Turns feed messages into `watch` output: coloured lines for people or NDJSON for jq. Each
 * exchange is printed once, and again only when it changes (new findings, a status); snapshots
 * after a reconnect print only what was missed. Status chatter goes to stderr so stdout stays clean.
 */
import type { WireFinding, WireSummary, FeedMessage } from '../../server/wire.js';
import { formatExchange, type TerminalStyle } from './format.js';

export interface PrinterOptions {
  json: boolean;
  findingsOnly: boolean;
  style: TerminalStyle;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Exchanges from the first snapshot shown in human mode (older ones are summarised). */
  backlog?: number;
}

const SEEN_LIMIT = 20_000;

export class WatchPrinter {
  #options: PrinterOptions;
  /** id → signature of what was printed last, insertion-ordered for trimming. */
  #seen = new Map<string, string>();
  #firstSnapshot = true;

  constructor(options: PrinterOptions) {
    this.#options = options;
  }

  handle(message: FeedMessage): void {
    switch (message.type) {
      case 'snapshot':
        this.#snapshot(message.exchanges);
        break;
      case 'exchange':
        this.#print(message.exchange.summary);
        break;
      case 'alert':
        if (this.#options.json) this.#options.out(`${JSON.stringify({ type: 'alert', ...message.alert })}\n`);
        else this.#options.err(`\n!! ALERT ${message.alert.message}\n\n`);
        break;
      case 'lagged':
        this.#options.err('watch fell behind the feed; resynchronising\n');
        break;
      default:
        break;
    }
  }

  #snapshot(exchanges: WireSummary[]): void {
    const unseen = exchanges.filter((summary) => this.#seen.get(summary.id) !== signature(summary) && this.#wanted(summary));
    const backlog = this.#options.backlog ?? 20;
    if (this.#firstSnapshot && !this.#options.json && unseen.length > backlog) {
      this.#options.err(`(${unseen.length - backlog} earlier exchanges not shown; use --json for all)\n`);
      for (const summary of unseen.slice(0, unseen.length - backlog)) this.#remember(summary);
      unseen.splice(0, unseen.length - backlog);
    }
    this.#firstSnapshot = false;
    for (const summary of unseen) this.#print(summary);
  }

  #wanted(summary: WireSummary): boolean {
    return !this.#options.findingsOnly || summary.findings.length > 0;
  }

  #print(summary: WireSummary): void {
    if (!this.#wanted(summary)) return;
    const previous = this.#seen.get(summary.id);
    const current = signature(summary);
    if (previous === current) return;
    this.#remember(summary);
    if (this.#options.json) {
      this.#options.out(`${JSON.stringify(summary)}\n`);
      return;
    }
    const updated = previous !== undefined;
    const findings = updated ? newFindings(previous, summary.findings) : summary.findings;
    this.#options.out(`${formatExchange(summary, this.#options.style, { updated, findings }).join('\n')}\n`);
  }

  #remember(summary: WireSummary): void {
    this.#seen.delete(summary.id);
    this.#seen.set(summary.id, signature(summary));
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.keys().next().value as string);
  }
}

function signature(summary: WireSummary): string {
  return `${summary.status ?? summary.error?.code ?? ''}|${summary.findings.map((f) => f.code).join(',')}`;
}

function newFindings(previousSignature: string, findings: WireFinding[]): WireFinding[] {
  const before = new Set(previousSignature.split('|')[1]?.split(',') ?? []);
  return findings.filter((finding) => !before.has(finding.code));
}
