/**
 * Facts the client-authentication rules (oauth-rules.md §1.2) share: which mechanisms a request
 * used, what the AS said about client authentication (stable codes and AADSTS numbers, provider text
 * only loosely), configured environments, and how credentials are shown (fingerprints, never values).
 */
import type { ClientConfig } from '../config.js';
import type { AnalyzedExchange, SecretRef, ValueAnomaly } from '../types.js';
import type { RuleContext } from './types.js';
import { isSuccess } from '../facts.js';
import { aadstsCodes, errorCode, errorText } from './provider-signals.js';

export const AUTH_KINDS = ['token', 'introspection', 'revocation', 'par', 'device_authorization'] as const;

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type Mechanism = 'basic' | 'client_secret' | 'client_assertion';

/** Client-authentication mechanisms actually present (a body client_id alone is identification, not authentication). */
export function mechanisms(ex: AnalyzedExchange): Mechanism[] {
  const out: Mechanism[] = [];
  if (ex.clientAuth.basic) out.push('basic');
  if (ex.clientAuth.clientSecret) out.push('client_secret');
  if (ex.clientAuth.clientAssertion) out.push('client_assertion');
  return out;
}

/** The RFC 8414 name of the method used, for comparison with metadata and config. */
export function methodName(ex: AnalyzedExchange): string | undefined {
  const m = mechanisms(ex);
  if (m.length > 1) return undefined;
  if (m[0] === 'basic') return 'client_secret_basic';
  if (m[0] === 'client_secret') return 'client_secret_post';
  if (m[0] === 'client_assertion') {
    const alg = String(ex.clientAuth.assertionJwt?.header.alg ?? '');
    return /^HS/i.test(alg) ? 'client_secret_jwt' : 'private_key_jwt';
  }
  return 'none';
}

/** The secret sent, wherever it was (body or Basic password). */
export function sentSecret(ex: AnalyzedExchange): SecretRef | undefined {
  return ex.clientAuth.clientSecret ?? ex.clientAuth.basic?.secret;
}

export type AuthFailureSub = 'unknown_client' | 'wrong_secret' | 'expired_secret' | 'generic';

export interface AuthFailure {
  /** What the AS said, e.g. `invalid_client`, `AADSTS7000215`, `incorrect_client_credentials`. */
  signal: string;
  sub: AuthFailureSub;
  /** Deterministic signal (code/AADSTS) vs inferred (bare 401, loose text). */
  strong: boolean;
}

const AADSTS_R09: Record<string, AuthFailureSub> = { 700016: 'unknown_client', 7000215: 'wrong_secret', 7000222: 'expired_secret', 70002: 'generic' };
export const AADSTS_R14 = ['700025', '7000218', '9002326', '9002327'];
export const AADSTS_R15 = ['50012', '50013'];

/** The AS refused the client's credentials (R09 signals of oauth-rules.md §1.2 / §1.17). */
export function authFailure(ex: AnalyzedExchange): AuthFailure | undefined {
  if (!ex.response || isSuccess(ex)) return undefined;
  const aad = aadstsCodes(ex);
  for (const [code, sub] of Object.entries(AADSTS_R09)) if (aad.has(code)) return { signal: `AADSTS${code}`, sub, strong: true };
  const code = errorCode(ex);
  const text = errorText(ex);
  const unknown = /client (was )?not found|unknown client|client_id .*not (found|exist)|application with identifier .* was not found/.test(text);
  if (code === 'invalid_client') return { signal: 'invalid_client', sub: unknown ? 'unknown_client' : 'generic', strong: true };
  if (code === 'incorrect_client_credentials') return { signal: code, sub: 'generic', strong: true };
  if (code === 'invalid_client_id') return { signal: code, sub: 'unknown_client', strong: true };
  if (code === 'bad_client_secret') return { signal: code, sub: 'wrong_secret', strong: true };
  if (code === 'unauthorized_client' && /invalid client/.test(text)) return { signal: 'unauthorized_client (Invalid client credentials)', sub: 'generic', strong: true };
  // Auth0 answers bad client credentials with 401 access_denied ("Unauthorized"); match the code and status, not the text.
  if (ex.provider === 'auth0' && ex.response?.status === 401 && code === 'access_denied') return { signal: 'access_denied (HTTP 401)', sub: 'generic', strong: false };
  if (ex.kind === 'token' && ex.response?.status === 401 && !code) return { signal: 'HTTP 401 without an OAuth error', sub: 'generic', strong: false };
  return undefined;
}

/** Configured registration of a client_id. */
export function configuredClient(ctx: RuleContext, clientId: string | undefined): ClientConfig | undefined {
  return clientId === undefined ? undefined : ctx.config.clients.find((c) => c.clientId === clientId);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The exchange's AS belongs to a configured issuer (same issuer, endpoint under it, or same origin). */
export function servedBy(ex: AnalyzedExchange, issuer: string): boolean {
  const iss = trimSlash(issuer);
  const origin = `${ex.request.url.scheme}://${ex.request.url.host}${ex.request.url.explicitPort ? `:${ex.request.url.port}` : ''}`;
  return [trimSlash(ex.issuer), ex.request.url.base].some((u) => u === iss || u.startsWith(`${iss}/`)) || origin === iss;
}

/** The configured environment whose issuer serves this exchange. */
export function environmentOfAs(ctx: RuleContext, ex: AnalyzedExchange): ClientConfig | undefined {
  return ctx.config.clients.find((c) => c.issuer !== undefined && servedBy(ex, c.issuer));
}

const ANOMALY_TEXT: Record<ValueAnomaly, string> = {
  empty: 'is empty',
  leading_whitespace: 'has leading whitespace',
  trailing_whitespace: 'has trailing whitespace',
  cr_lf: 'contains CR/LF (a newline)',
  tab: 'contains a TAB',
  nul: 'contains a NUL byte',
  quotes: 'is wrapped in quotes',
  placeholder: 'is an unexpanded placeholder (${…}, $VAR, %VAR%, {{…}}, <…>)',
  literal: 'is a literal such as "undefined", "null", "None" or "changeme"',
  non_ascii: 'contains non-ASCII characters',
};

export function describeAnomalies(anomalies: readonly ValueAnomaly[]): string {
  return anomalies.map((a) => ANOMALY_TEXT[a]).join(', ');
}

/** Anomalies of a Class C string (assertion iss/sub), computed here because the engine only does it for sent parameters. */
export function textAnomalies(value: string): ValueAnomaly[] {
  const out: ValueAnomaly[] = [];
  if (value === '') return ['empty'];
  if (/^\s/.test(value)) out.push('leading_whitespace');
  if (/\s$/.test(value)) out.push('trailing_whitespace');
  if (/[\r\n]/.test(value)) out.push('cr_lf');
  if (value.includes('\t')) out.push('tab');
  if (value.includes('\0')) out.push('nul');
  if (/^(["']).*\1$/s.test(value.trim())) out.push('quotes');
  if (/\$\{[^}]*\}|^\$[A-Z_][A-Z0-9_]*$|^%[A-Z_][A-Z0-9_]*%$|\{\{[^}]*\}\}|^<[^>]+>$/.test(value.trim())) out.push('placeholder');
  if (/^(undefined|null|none|nil|changeme|your[-_]client[-_](id|secret)|xxx+|todo)$/i.test(value.trim())) out.push('literal');
  return out;
}

/** A secret as evidence: display marker, length, fingerprints and anomalies — never the value. */
export function secretEvidence(ref: SecretRef): Record<string, unknown> {
  return {
    display: ref.display, length: ref.length, fp: ref.fp.slice(0, 12),
    ...(ref.trimmedFp !== ref.fp ? { trimmed_fp: ref.trimmedFp.slice(0, 12) } : {}),
    ...(ref.anomalies.length ? { anomalies: ref.anomalies } : {}),
    ...(ref.registeredAs?.length ? { registered_as: ref.registeredAs } : {}),
  };
}

/** Provider-specific remediation for a rejected client credential. */
export function authFailureHint(ex: AnalyzedExchange, sub: AuthFailureSub): string {
  switch (ex.provider) {
    case 'entra':
      if (sub === 'expired_secret') return ' Entra: the secret has expired; create a new one under Certificates & secrets, redeploy it, and track expiry dates.';
      if (sub === 'unknown_client') return ' Entra: the application (client) id is not in this tenant; check the tenant in the token URL and the app registration.';
      return ' Entra: use the secret\'s Value, not its Secret ID, and check it belongs to this app registration and has not expired.';
    case 'google':
      return ' Google: check the client id (ends in .apps.googleusercontent.com) and secret come from the same Cloud project and OAuth client.';
    case 'github':
      return ' GitHub answers incorrect_client_credentials with HTTP 200: check the OAuth App (or GitHub App) client id and secret pair.';
    case 'slack':
      return ' Slack answers with HTTP 200 and ok:false: check the app\'s Client ID and Client Secret under Basic Information.';
    case 'keycloak':
      return ' Keycloak: check the client exists in this realm and that "Client authentication" (confidential) matches how the client authenticates.';
    case 'apple':
      return ' Apple: the client_secret is a JWT you sign (ES256, kid, iss = Team ID, sub = client id, aud = https://appleid.apple.com); regenerate it before it expires.';
    case 'auth0':
      return ' Auth0: check the application\'s Client ID and Client Secret (Applications → Settings) and, for client_credentials, that the application is authorized for the API (audience).';
    case 'okta':
      return ' Okta: check the client id and secret of the app integration, and that its Client authentication setting matches how the secret is sent.';
    case 'salesforce':
      return ' Salesforce: check the connected app\'s consumer key/secret and that sandbox credentials go to test.salesforce.com.';
    default:
      return '';
  }
}
