/**
 * grant_type and scope (oauth-rules.md §1.4, §1.5, R22–R27) plus `grant_type.params_mismatch`:
 * the grant named, whether the client may use it, whether it is deprecated, whether the parameters
 * sent fit it; the scope rules are in grant-scope-scopes.ts.
 */
import { paramText, paramValues } from '../facts.js';
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { asErrorEvidence, errorCode, errorText, exchangeIds, hasAadsts, hintFor, isBogus, outcome, withBaseEvidence, CODE_GRANT } from './code-util.js';
import { DEVICE_GRANT, NO_GRANT_TYPE_PROVIDERS, PASSWORD_GRANTS, REGISTERED_GRANTS, nearMissGrant } from './grant-scope-util.js';
import { scopeRules } from './grant-scope-scopes.js';

function evidenceWithError(ex: AnalyzedExchange, extra: Record<string, unknown>): Record<string, unknown> {
  const asError = asErrorEvidence(ex);
  return { ...extra, ...(asError ? { as_error: asError } : {}) };
}

/** The AS said the grant type itself is not supported (RFC 6749 §5.2, Slack). */
function grantUnsupportedSignal(ex: AnalyzedExchange): boolean {
  const code = errorCode(ex);
  return code === 'unsupported_grant_type' || code === 'invalid_grant_type'
    || (code === 'invalid_request' && /grant[ _]?type/.test(errorText(ex)));
}

const grantTypeInvalid: Rule = {
  code: 'grant_type.invalid',
  family: 'grant-scope',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    const raw = paramText(ex.params, 'grant_type');
    const signal = grantUnsupportedSignal(ex);
    const fix = 'Send grant_type with the exact registered value (authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code …) in the form body.';
    const make = (title: string, why: string, confidence: FindingDraft['confidence'], extra: Record<string, unknown>): FindingDraft[] => [{
      code: 'grant_type.invalid', severity: 'error', title,
      detail: `${why} The AS answered ${outcome(ex)}. Fix: ${fix}`, fix,
      evidence: evidenceWithError(ex, { grant_type: raw ?? null, ...extra }),
      confidence, exchangeIds: [ex.id],
    }];
    if (raw !== undefined && raw.trim() === '') {
      return make('Token request with an empty grant_type', 'grant_type is sent but empty: the client built the body from an unset variable.', 'high', {});
    }
    if (raw === undefined) {
      if (ex.request.query.some((p) => p.name === 'grant_type')) return []; // request.params_in_query says it
      if (ex.provider && NO_GRANT_TYPE_PROVIDERS.has(ex.provider) && !signal) return [];
      const body = ex.request.bodyFormat === 'form' ? '' : ` The body is ${ex.request.bodyFormat}${ex.request.contentType ? ` (${ex.request.contentType})` : ''}, not a form, so the AS sees no parameters at all (see request.wrong_content_type).`;
      return make('Token request without grant_type', `The token request has no grant_type parameter; the AS cannot tell which grant is meant (RFC 6749 §4.1.3, §4.4.2, §6).${body}`, 'high', { bodyFormat: ex.request.bodyFormat });
    }
    const registered = (REGISTERED_GRANTS as readonly string[]).includes(raw);
    const advertised = ctx.correlation.discovery?.grantTypes;
    if (registered || advertised?.includes(raw)) {
      if (!signal) return [];
      const adv = advertised && !advertised.includes(raw) ? ` Its discovery document advertises only: ${advertised.join(', ')}.` : '';
      return make(`The AS does not support grant_type "${raw}"`, `grant_type "${raw}" is well-formed but this authorization server (or this endpoint) does not support it.${adv}`
        + (raw === DEVICE_GRANT ? ' GitHub: the device flow must be enabled on the OAuth app.' : ''), 'high', { advertised });
    }
    const meant = nearMissGrant(raw);
    if (meant) {
      const ws = raw !== raw.trim() ? ' (the value carries whitespace or CR/LF — Entra B2C echoes "The supplied grant_type [authorization_code\\r\\n] is not supported")' : '';
      return make(`grant_type "${JSON.stringify(raw).slice(1, -1)}" is a misspelling of "${meant}"`,
        `grant_type must be exactly "${meant}"${ws}; grant type names are not case-insensitive and the URN grants need the full URN.`, 'high', { meant });
    }
    // Absolute URIs are extension grants (RFC 6749 §4.5): only wrong when the AS or its metadata says so.
    const extension = /^[a-z][a-z0-9+.-]*:/i.test(raw);
    if (extension && !signal && !advertised) return [];
    return make(`Unknown grant_type "${raw}"`, `"${raw}" is neither a registered grant type nor one the AS advertises${advertised ? ` (${advertised.join(', ')})` : ''}.`,
      signal || !extension ? 'high' : 'medium', { advertised });
  },
};

const NOT_ALLOWED_HINTS: Record<string, string> = {
  keycloak: 'Keycloak: enable Standard flow / Service accounts / Direct access grants / OAuth 2.0 Device Authorization Grant in the client settings. Keycloak also answers unauthorized_client for bad client credentials (see client.authentication_failed).',
  cognito: 'Cognito: enable the OAuth flow (authorization code grant, client credentials) on the app client.',
  github: 'GitHub: enable "Device Flow" in the OAuth app settings.',
  entra: 'Entra: for device code and ROPC, set "Allow public client flows" on the app registration.',
  okta: 'Okta: tick the grant type under the application\'s General settings.',
  auth0: 'Auth0: enable the grant under Application → Advanced settings → Grant Types.',
};

const grantNotAllowed: Rule = {
  code: 'grant_type.not_allowed_for_client',
  family: 'grant-scope',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    const grant = ex.grantType?.trim();
    const code = errorCode(ex);
    const publicFlow = grant === DEVICE_GRANT || (grant !== undefined && PASSWORD_GRANTS.has(grant));
    const signal = code === 'unauthorized_client' || code === 'device_flow_disabled' || (publicFlow && hasAadsts(ex, '7000218'));
    const client = ctx.config.clients.find((c) => c.clientId === ex.clientId);
    const publicClient = client && (client.type === 'public' || client.type === 'spa' || client.authMethod === 'none');
    const configViolation = grant === 'client_credentials' && publicClient;
    if (!signal && !configViolation) return [];
    const fix = `Enable the ${grant ?? 'requested'} grant on the client registration (allowed flows / grant types / device flow / service accounts), or use the client registered for that grant.`;
    const credsText = /invalid client/.test(errorText(ex));
    const cfg = configViolation ? ` The config declares client "${client?.name}" as ${client?.type ?? 'a public client (authMethod none)'}; client_credentials is only for confidential clients (RFC 6749 §4.4).` : '';
    return [{
      code: 'grant_type.not_allowed_for_client',
      severity: signal || !ex.response || ex.response.status >= 400 ? 'error' : 'warning',
      title: `Grant ${grant ?? '(none)'} not allowed for client ${ex.clientId ?? '(unknown)'}`,
      detail: `The AS answered ${outcome(ex)}: the authenticated client is not authorized to use this grant type.${cfg}${hintFor(ex, NOT_ALLOWED_HINTS)} Fix: ${fix}`,
      fix,
      evidence: evidenceWithError(ex, { grant_type: grant, clientId: ex.clientId, ...(client ? { configClient: client.name, configType: client.type } : {}) }),
      confidence: (signal && !credsText) || configViolation ? 'high' : 'medium',
      exchangeIds: [ex.id],
    }];
  },
};

const deprecatedFlow: Rule = {
  code: 'grant_type.deprecated_flow',
  family: 'grant-scope',
  severity: 'warning',
  kinds: ['token', 'authorize', 'par'],
  check(ex) {
    const fix = 'Use the authorization code flow with PKCE (the device flow for input-constrained devices, client_credentials for machine-to-machine).';
    if (ex.kind === 'token') {
      const grant = ex.grantType?.trim();
      if (!grant || !PASSWORD_GRANTS.has(grant)) return [];
      const rejected = grantUnsupportedSignal(ex) || errorCode(ex) === 'unauthorized_client';
      return [{
        code: 'grant_type.deprecated_flow', severity: rejected ? 'error' : 'warning',
        title: 'Resource owner password credentials grant used',
        detail: `The client sends the user's password to the token endpoint (grant_type=${grant}). RFC 9700 §2.4: the password grant MUST NOT be used; it bypasses MFA and federation and many ASes disable it.${rejected ? ` The AS refused it (${outcome(ex)}).` : ''} Fix: ${fix}`,
        fix, evidence: evidenceWithError(ex, { grant_type: grant, ...(ex.clientId ? { clientId: ex.clientId } : {}) }),
        confidence: 'high', exchangeIds: [ex.id],
      }];
    }
    const responseType = ex.authorize?.responseType ?? paramText(ex.params, 'response_type');
    const parts = responseType?.split(/\s+/) ?? [];
    if (!parts.includes('token')) return [];
    return [{
      code: 'grant_type.deprecated_flow', severity: 'warning',
      title: `Implicit flow: response_type=${responseType}`,
      detail: `The authorize request asks for an access token in the front channel (response_type=${responseType}), where it leaks through browser history, Referer and logs and cannot be sender-constrained. RFC 9700 §2.1.2: clients SHOULD NOT use the implicit grant. Fix: ${fix}`,
      fix, evidence: { response_type: responseType, ...(ex.authorize?.clientId ? { clientId: ex.authorize.clientId } : {}) },
      confidence: 'high', exchangeIds: [ex.id],
    }];
  },
};

/** grant_type → the parameter it needs and the parameters it must not carry. */
function paramsMismatch(ex: AnalyzedExchange, ctx: RuleContext): { title: string; why: string; fix: string } | undefined {
  const grant = ex.grantType?.trim();
  const inQuery = (name: string) => ex.request.query.some((p) => p.name === name);
  if (grant === 'client_credentials' && ex.code) {
    return {
      title: 'grant_type=client_credentials sent with an authorization code',
      why: 'client_credentials gets a token for the client itself and takes no code; the code is ignored or rejected, and no user token comes back. The callback handler is using the machine-to-machine grant.',
      fix: 'Redeem a code with grant_type=authorization_code (plus redirect_uri and code_verifier); use client_credentials only without a user.',
    };
  }
  if (grant === CODE_GRANT && isBogus(ex.code) && !inQuery('code')) {
    const mode = ctx.correlation.authorize?.authorize?.responseMode;
    const modeHint = mode === 'fragment' ? ' The authorize request used response_mode=fragment, so the code never reaches the server.'
      : mode === 'form_post' ? ' The authorize request used response_mode=form_post: read the code from the POST body, not the query.' : '';
    const sent = ex.code ? `code is ${ex.code.anomalies.join(', ') || 'empty'} (${ex.code.display})` : 'no code parameter';
    return {
      title: `grant_type=authorization_code with ${ex.code ? 'an empty or placeholder code' : 'no code'}`,
      why: `The request redeems an authorization code but has ${sent}. The callback handler did not read \`code\` from the authorization response (wrong parameter name, wrong response_mode, or an error response it did not check).${modeHint}`,
      fix: 'Read `code` from the authorization response (check for `error` first) and send it unchanged.',
    };
  }
  if (grant === 'refresh_token' && isBogus(ex.refreshToken) && !inQuery('refresh_token')) {
    const nearMiss = ex.params.find((p) => /^refresh[-_]?token$/i.test(p.name) && p.name !== 'refresh_token')?.name;
    return {
      title: `grant_type=refresh_token with ${ex.refreshToken ? 'an empty or placeholder refresh_token' : 'no refresh_token'}`,
      why: `The refresh request carries no usable refresh_token${nearMiss ? ` (it sent "${nearMiss}" instead)` : ''}: none was stored, none was issued (see refresh_token.not_issued), or it was read from the wrong field (refreshToken vs refresh_token).`,
      fix: 'Store the refresh_token from the token response and send it as `refresh_token`; if none was issued, request offline access.',
    };
  }
  if (grant === DEVICE_GRANT && isBogus(ex.deviceCode) && !paramValues(ex.params, 'device_code').length) {
    return {
      title: 'Device grant without device_code',
      why: 'The device-code grant polls with the device_code from the device authorization response; this request has none.',
      fix: 'Send the device_code returned by the device authorization endpoint.',
    };
  }
  return undefined;
}

const grantParamsMismatch: Rule = {
  code: 'grant_type.params_mismatch',
  family: 'grant-scope',
  severity: 'error',
  kinds: ['token'],
  check(ex, ctx) {
    const m = paramsMismatch(ex, ctx);
    if (!m) return [];
    return [{
      code: 'grant_type.params_mismatch', severity: 'error', title: m.title,
      detail: `${m.why} The AS answered ${outcome(ex)}. Fix: ${m.fix}`, fix: m.fix,
      evidence: evidenceWithError(ex, {
        grant_type: ex.grantType, params: ex.params.map((p) => p.name),
        ...(ex.code ? { code: ex.code.display } : {}),
        ...(ex.refreshToken ? { refresh_token: ex.refreshToken.display } : {}),
      }),
      confidence: 'high', exchangeIds: exchangeIds(ex),
    }];
  },
};

export const rules: Rule[] = [grantTypeInvalid, grantNotAllowed, deprecatedFlow, grantParamsMismatch, ...scopeRules].map(withBaseEvidence);
