/**
 * `oauth-lens analyze FILE.har [--config FILE] [--out REDACTED.har] [--json]`: findings for a HAR
 * captured elsewhere (raw secrets included), and a redacted copy to share instead of the original.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { analyzeHar } from '../har/analyze.js';
import { parseHarText } from '../har/from-har.js';
import { analysisToJson, formatAnalysis } from '../har/report.js';
import { writePrivateFile } from '../har/write-file.js';
import { loadConfigFile } from '../oauth/config-validate.js';
import { LENS_VERSION } from '../server/version.js';

interface AnalyzeFlags {
  config?: string;
  out?: string;
  json?: boolean;
}

/** `capture.har` → `capture.redacted.har`, next to the input. */
export function defaultRedactedPath(file: string): string {
  const parsed = path.parse(file);
  return path.join(parsed.dir, `${parsed.ext.toLowerCase() === '.har' ? parsed.name : parsed.base}.redacted.har`);
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description('diagnose a HAR captured elsewhere (Chrome, Firefox, mitmproxy, Charles) and write a redacted copy')
    .argument('<file>', 'HAR file (may contain raw secrets; it is only read)')
    .option('--config <file>', 'config file (clients, registered redirect URIs, secret hashes)')
    .option('--out <file>', 'where to write the redacted copy (default: FILE.redacted.har; `-` to skip)')
    .option('--json', 'machine-readable output')
    .action((file: string, flags: AnalyzeFlags) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      const input = parseHarText(text);
      const config = flags.config ? loadConfigFile(flags.config) : undefined;
      const analysis = analyzeHar(input, { ...(config ? { config } : {}), creatorVersion: LENS_VERSION });
      const out = flags.out === '-' ? undefined : flags.out ?? defaultRedactedPath(file);
      if (out) {
        if (path.resolve(out) === path.resolve(file)) throw new Error('--out must not overwrite the input file');
        writePrivateFile(out, `${JSON.stringify(analysis.har, null, 2)}\n`);
      }
      const context = { file, ...(out ? { out } : {}) };
      process.stdout.write(flags.json ? `${JSON.stringify(analysisToJson(analysis, context), null, 2)}\n` : formatAnalysis(analysis, context));
    });
}
