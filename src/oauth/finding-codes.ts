/**
 * The Markdown list of every finding code, rendered from the catalogue and the rule registry, so the
 * README's list is generated, never written twice. `npm run finding-codes` rewrites the README block.
 */
import { CATALOGUE, FINDING_CODES } from './catalogue.js';
import { ALL_RULES } from './rules/index.js';

export const FINDING_CODES_BEGIN = '<!-- finding-codes:begin (generated from src/oauth/catalogue.ts by `npm run finding-codes`; do not edit) -->';
export const FINDING_CODES_END = '<!-- finding-codes:end -->';

export function renderFindingCodes(): string {
  const detected = new Set<string>(ALL_RULES.map((rule) => rule.code));
  const rows = FINDING_CODES.map((code) => {
    const e = CATALOGUE[code];
    const needs = 'config' in e ? (e.config === 'required' ? 'config' : 'config (optional)') : '';
    const meaning = e.meaning.replace(/\|/g, '\\|');
    return `| \`${code}\` | ${e.rule} | ${e.severity} | ${detected.has(code) ? meaning : `*(catalogued, not detected yet)* ${meaning}`} | ${needs} |`;
  });
  const missing = FINDING_CODES.filter((code) => !detected.has(code)).length;
  return [
    FINDING_CODES_BEGIN,
    `${FINDING_CODES.length} codes: the 70 rules of the OAuth research catalogue (R01–R70) plus \`grant_type.params_mismatch\` (X01); ` +
      `${FINDING_CODES.length - missing} are detected today. Severity is the default: a rule escalates or downgrades it with a reason. ` +
      '"config" marks codes whose diagnosis needs (or improves with) the config file.',
    '',
    '| code | rule | severity | meaning | needs |',
    '|---|---|---|---|---|',
    ...rows,
    FINDING_CODES_END,
  ].join('\n');
}

/** `readme` with its generated block replaced by the current list. */
export function withFindingCodes(readme: string): string {
  const begin = readme.indexOf(FINDING_CODES_BEGIN.slice(0, 25));
  const end = readme.indexOf(FINDING_CODES_END);
  if (begin < 0 || end < begin) throw new Error('README.md has no finding-codes block');
  return readme.slice(0, begin) + renderFindingCodes() + readme.slice(end + FINDING_CODES_END.length);
}
