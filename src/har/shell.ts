/**
 * POSIX shell quoting for generated commands. Literal text only ever appears inside single quotes
 * (where the shell interprets nothing: `$()`, backticks, `;`, `&&`, newlines are all literal);
 * a single quote is written as `'\''`. Double quotes appear only around a bare `$NAME` expansion
 * whose name this module validated. NUL cannot be passed in an argv string, so it is refused.
 */

export class ShellQuoteError extends Error {
  readonly code = 'OAL_ERR_CURL_UNREPRESENTABLE';
}

const VAR_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** One word part: literal text, or the expansion of an environment variable. */
export type WordPart = { literal: string } | { variable: string };

export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new ShellQuoteError('a value contains a NUL byte, which no shell argument can carry');
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function quoteVariable(name: string): string {
  if (!VAR_NAME.test(name)) throw new ShellQuoteError(`not a safe variable name: ${JSON.stringify(name)}`);
  return `"$${name}"`;
}

/** Concatenates parts into one shell word, e.g. `'code='"$AUTH_CODE"`. */
export function quoteWord(parts: WordPart[]): string {
  const merged: WordPart[] = [];
  for (const part of parts) {
    const prev = merged[merged.length - 1];
    if ('literal' in part && prev && 'literal' in prev) merged[merged.length - 1] = { literal: prev.literal + part.literal };
    else merged.push(part);
  }
  if (merged.length === 0) return "''";
  return merged.map((part) => ('literal' in part ? (part.literal ? quoteLiteral(part.literal) : '') : quoteVariable(part.variable))).join('') || "''";
}

export function isSafeVariableName(name: string): boolean {
  return VAR_NAME.test(name);
}
