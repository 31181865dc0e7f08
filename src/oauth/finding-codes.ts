/** The Markdown table of every finding code, rendered from the catalogue (docs/finding-codes.md, README). */
import { CATALOGUE, FINDING_CODES } from './catalogue.js';

export function renderFindingCodes(): string {
  const rows = FINDING_CODES.map((code) => {
    const e = CATALOGUE[code];
    const needs = 'config' in e ? (e.config === 'required' ? 'config' : 'config (optional)') : '';
    return `| \`${code}\` | ${e.rule} | ${e.severity} | ${e.family} | ${e.meaning.replace(/\|/g, '\\|')} | ${needs} |`;
  });
  return [
    '# Finding codes',
    '',
    '<!-- Generated from src/oauth/catalogue.ts by `node scripts/finding-codes.mjs`; do not edit by hand. -->',
    '',
    `oauth-lens reports ${FINDING_CODES.length} finding codes: the 70 rules of the OAuth research catalogue (R01–R70) plus \`grant_type.params_mismatch\` (X01).`,
    'Severity is the default; a rule may escalate or downgrade it with a reason. "config" marks codes whose diagnosis needs (or improves with) the config file.',
    '',
    '| code | rule | severity | family | meaning | needs |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
