/** Small pure helpers rules use to read `AnalyzedExchange` facts without repeating lookups. */
import type { AnalyzedExchange, Param, ParamValue, RawHeaders, SecretRef } from './types.js';

export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && (value as { redacted?: unknown }).redacted === true
    && typeof (value as { fp?: unknown }).fp === 'string';
}

/** All values of a header (case-insensitive name), in wire order. */
export function headerValues(headers: RawHeaders, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of headers) if (n.toLowerCase() === lower) out.push(v);
  return out;
}

export function header(headers: RawHeaders, name: string): string | undefined {
  return headerValues(headers, name)[0];
}

/** Values of a parameter (exact name), in order, duplicates kept. */
export function paramValues(params: readonly Param[], name: string): ParamValue[] {
  return params.filter((p) => p.name === name).map((p) => p.value);
}

export function param(params: readonly Param[], name: string): ParamValue | undefined {
  return params.find((p) => p.name === name)?.value;
}

/** A Class C parameter as text; a SecretRef yields undefined. */
export function paramText(params: readonly Param[], name: string): string | undefined {
  const value = param(params, name);
  return typeof value === 'string' ? value : undefined;
}

/** Length of a parameter value whether plain or redacted. */
export function valueLength(value: ParamValue): number {
  return typeof value === 'string' ? value.length : value.length;
}

/** How a value is shown in evidence: plain text for Class C, the redaction marker for secrets. */
export function showValue(value: ParamValue): string {
  return typeof value === 'string' ? value : value.display;
}

export function isTokenLike(ex: AnalyzedExchange): boolean {
  return ex.kind === 'token' || ex.kind === 'introspection' || ex.kind === 'revocation'
    || ex.kind === 'par' || ex.kind === 'device_authorization';
}

export function isSuccess(ex: AnalyzedExchange): boolean {
  return !!ex.response && ex.response.status >= 200 && ex.response.status < 300 && !ex.providerError?.error
    && ex.providerError?.slackOk !== false;
}

export function failed(ex: AnalyzedExchange): boolean {
  return !!ex.transportError || (!!ex.response && !isSuccess(ex));
}
