/**
 * Client identification and authentication rules, oauth-rules.md §1.2 (R09–R14; R15 lives in
 * client-auth-assertion.ts). Secrets are only ever seen as fingerprints: "staging secret with the
 * prod client" is proven by the config's secretSha256 lists (SecretRef.registeredAs).
 */
import type { Severity } from '../../model.js';
import type { AnalyzedExchange, FindingDraft, Rule, RuleContext } from './types.js';
import { accepted, asErrorEvidence, exchangeIds, hasAadsts, providerName, rejected } from './provider-signals.js';
import {
  AADSTS_R14, AADSTS_R15, AUTH_KINDS, authFailure, authFailureHint, configuredClient, describeAnomalies, environmentOfAs,
  mechanisms, methodName, secretEvidence, sentSecret, servedBy, textAnomalies,
} from './client-auth-util.js';
import { assertionRule } from './client-auth-assertion.js';

function draft(code: FindingDraft['code'], severity: Severity, confidence: FindingDraft['confidence'], ex: AnalyzedExchange,
  title: string, why: string, fix: string, evidence: Record<string, unknown>, related: AnalyzedExchange[] = [], earlierIds: string[] = []): FindingDraft {
  const asError = rejected(ex) ? asErrorEvidence(ex) : undefined;
  return {
    code, severity, confidence, title, detail: `${why} Fix: ${fix}`, fix,
    evidence: { client_id: ex.clientId, auth_method: mechanisms(ex), ...evidence, ...(asError ? { as_error: asError } : {}) },
    exchangeIds: [...new Set([...earlierIds, ...exchangeIds(ex, ...related)])],
  };
}

/** R10 causes, also used by R09 to defer to it. */
function envMismatches(ex: AnalyzedExchange, ctx: RuleContext): Array<{ why: string; row: Record<string, unknown> }> {
  const out: Array<{ why: string; row: Record<string, unknown> }> = [];
  const secret = sentSecret(ex);
  const own = configuredClient(ctx, ex.clientId);
  const registered = secret?.registeredAs ?? [];
  if (registered.length && !registered.some((r) => r.clientId === ex.clientId)) {
    const env = registered.map((r) => r.client).join(', ');
    out.push({
      why: `the client secret is the one configured for "${env}" but client_id ${ex.clientId ?? '(none)'} belongs to ${own ? `"${own.name}"` : 'no configured environment'}`,
      row: { kind: 'client_secret', fp: secret?.fp.slice(0, 12), environment: env, client_id_environment: own?.name ?? null },
    });
  }
  if (own?.issuer && !servedBy(ex, own.issuer)) {
    const asEnv = environmentOfAs(ctx, ex);
    out.push({
      why: `client_id ${ex.clientId} is configured for "${own.name}" (issuer ${own.issuer}) but the request went to ${ex.request.url.base}${asEnv ? `, which is "${asEnv.name}"` : ''}`,
      row: { kind: 'authorization_server', host: ex.request.url.host, environment: asEnv?.name ?? null, client_id_environment: own.name },
    });
  }
  const authorize = ctx.correlation.authorize;
  if (authorize && ctx.config.clients.length) {
    const a = environmentOfAs(ctx, authorize);
    const t = environmentOfAs(ctx, ex);
    if (a && t && a.name !== t.name) {
      out.push({
        why: `the authorize request went to "${a.name}" (${authorize.request.url.host}) but the code is redeemed at "${t.name}" (${ex.request.url.host})`,
        row: { kind: 'authorize_vs_token', authorize_environment: a.name, token_environment: t.name, authorize_exchange: authorize.id },
      });
    }
  }
  const first = ctx.correlation.secretFirstSeen;
  if (secret && first && first.host !== ex.request.url.host && first.issuer !== ex.issuer) {
    out.push({
      why: `the same client secret was first sent to ${first.issuer} (exchange ${first.exchangeId}) and is now sent to ${ex.issuer}: one secret shared across environments, or sent to the wrong AS`,
      row: { kind: 'client_secret', fp: secret.fp.slice(0, 12), first_seen: first, now: ex.issuer },
    });
  }
  return out;
}

const authenticationFailed: Rule = {
  code: 'client.authentication_failed', family: 'client-auth', severity: 'error', kinds: AUTH_KINDS,
  check(ex, ctx) {
    const f = authFailure(ex);
    if (!f) return [];
    // A more specific rule owns these causes (R10, R11, R14, R15).
    if (hasAadsts(ex, ...AADSTS_R14, ...AADSTS_R15)) return [];
    const secret = sentSecret(ex);
    if (envMismatches(ex, ctx).length) return [];
    if (secret?.registeredAs?.some((r) => r.trimmed && r.clientId === ex.clientId)) return [];
    if ([secret?.anomalies, ex.clientAuth.bodyClientIdAnomalies, ex.clientAuth.basic?.clientIdAnomalies].some((a) => a?.length)) return [];
    if (mechanisms(ex).length === 0 && f.sub !== 'unknown_client') return [];
    // Assertions and JWT client secrets (Apple) are diagnosed by client_assertion.invalid.
    if (ex.clientAuth.clientAssertion || ex.clientAuth.assertionJwt) return [];
    let sub = f.sub;
    const extra: string[] = [];
    const own = configuredClient(ctx, ex.clientId);
    if (ctx.config.clients.length && ex.clientId !== undefined && !own) {
      sub = 'unknown_client';
      extra.push(`client_id ${ex.clientId} is in no configured environment.`);
    }
    if (own?.secretSha256?.length && secret && !secret.registeredAs?.some((r) => r.clientId === ex.clientId)) {
      if (sub === 'generic') sub = 'wrong_secret';
      extra.push(`The secret sent (length ${secret.length}) matches none of the ${own.secretSha256.length} secret(s) configured for "${own.name}".`);
    } else if (own && secret?.registeredAs?.some((r) => r.clientId === ex.clientId && !r.trimmed)) {
      extra.push(`The secret matches the one configured for "${own.name}", so the AS no longer accepts it (rotated or expired there, or another tenant).`);
    }
    const causes: Record<typeof sub, string> = {
      unknown_client: 'the AS does not know this client_id (wrong tenant, project, realm or environment)',
      wrong_secret: 'the client secret is wrong for this client',
      expired_secret: 'the client secret has expired',
      generic: 'the client id or secret is wrong, expired, or for another environment',
    };
    const fixes: Record<typeof sub, string> = {
      unknown_client: 'Use the client_id registered at this AS (right tenant/project/realm/environment).',
      wrong_secret: 'Use the current secret of this client (rotate it and redeploy if unknown).',
      expired_secret: 'Create a new secret, deploy it, and track the expiry date.',
      generic: 'Check the client_id and secret pair against the registration at this AS; rotate and redeploy the secret if in doubt.',
    };
    const pv = providerName(ex);
    return [draft('client.authentication_failed', 'error', f.strong ? 'high' : 'medium', ex,
      `${pv ?? 'The AS'} rejected the client credentials (${f.signal})`,
      [`${pv ?? 'The authorization server'} answered ${f.signal}: ${causes[sub]}.`, ...extra, authFailureHint(ex, sub).trim()].filter(Boolean).join(' '),
      fixes[sub], { sub_diagnosis: sub, signal: f.signal, ...(secret ? { secret: secretEvidence(secret) } : {}) })];
  },
};

const envMismatch: Rule = {
  code: 'client.env_mismatch', family: 'client-auth', severity: 'error', kinds: AUTH_KINDS,
  check(ex, ctx) {
    const found = envMismatches(ex, ctx);
    const fix = 'Load all OAuth settings from one environment-keyed source and assert at startup that issuer, client_id and secret carry the same environment label; rotate any secret sent to the wrong host.';
    if (found.length) {
      const related = ctx.correlation.authorize && found.some((f) => f.row.kind === 'authorize_vs_token') ? [ctx.correlation.authorize] : [];
      const first = ctx.correlation.secretFirstSeen;
      const earlier = first && found.some((f) => f.row.first_seen) ? [first.exchangeId] : [];
      // Learned only (no config) and accepted: one registration under two host names is as likely as a shared secret.
      const learnedOnly = found.every((f) => f.row.first_seen);
      const tolerated = learnedOnly && accepted(ex);
      return [draft('client.env_mismatch', tolerated ? 'warning' : 'error', tolerated ? 'medium' : 'high', ex, 'Client credentials and authorization server belong to different environments',
        `Identifiers of one request map to different environments: ${found.map((f) => f.why).join('; ')}.${tolerated
          ? ' This AS accepted the secret too, so it is either one registration reachable under two host names or a secret shared across environments.' : ''}`, fix,
        { mismatches: found.map((f) => ({ ...f.row, exchange: ex.id })) }, related, earlier)];
    }
    // Salesforce: sandbox credentials at login.salesforce.com (or production ones at test.salesforce.com).
    if (ex.provider === 'salesforce' && ex.providerError?.error === 'invalid_grant'
      && /authentication failure/i.test(ex.providerError.errorDescription ?? '')) {
      const host = ex.request.url.host;
      const other = host.startsWith('test.') ? 'login.salesforce.com' : 'test.salesforce.com';
      return [draft('client.env_mismatch', 'error', 'medium', ex, 'Salesforce credentials may belong to the other environment',
        `Salesforce answered invalid_grant "authentication failure" at ${host}. Sandbox orgs authenticate at test.salesforce.com and production at login.salesforce.com; if these credentials are for the other org type, use ${other}.`,
        fix, { host, suggested_host: other })];
    }
    return [];
  },
};

const suspiciousValue: Rule = {
  code: 'client_credentials.suspicious_value', family: 'client-auth', severity: 'error', kinds: AUTH_KINDS,
  check(ex) {
    const ca = ex.clientAuth;
    const items: Array<{ field: string; text: string; evidence: Record<string, unknown> }> = [];
    if (ca.bodyClientIdAnomalies.length) {
      items.push({ field: 'client_id (body)', text: describeAnomalies(ca.bodyClientIdAnomalies), evidence: { value: JSON.stringify(ca.bodyClientId ?? ''), anomalies: ca.bodyClientIdAnomalies } });
    }
    if (ca.basic?.clientIdAnomalies.length) {
      items.push({ field: 'client_id (Basic)', text: describeAnomalies(ca.basic.clientIdAnomalies), evidence: { value: JSON.stringify(ca.basic.clientId ?? ''), anomalies: ca.basic.clientIdAnomalies } });
    }
    for (const claim of ['iss', 'sub'] as const) {
      const value = ca.assertionJwt?.claims[claim];
      const anomalies = typeof value === 'string' ? textAnomalies(value) : [];
      if (anomalies.length) items.push({ field: `client_assertion ${claim}`, text: describeAnomalies(anomalies), evidence: { value: JSON.stringify(value), anomalies } });
    }
    for (const [field, ref] of [['client_secret (body)', ca.clientSecret], ['client_secret (Basic)', ca.basic?.secret]] as const) {
      if (!ref) continue;
      const trimmedMatch = ref.registeredAs?.filter((r) => r.trimmed) ?? [];
      if (!ref.anomalies.length && !trimmedMatch.length) continue;
      const registered = trimmedMatch.length
        ? ` Without its surrounding whitespace/quotes it equals the secret configured for "${trimmedMatch.map((r) => r.client).join(', ')}"`
        : '';
      items.push({ field, text: `${describeAnomalies(ref.anomalies) || 'differs from the configured secret only by whitespace'}${registered}`, evidence: secretEvidence(ref) });
    }
    if (!items.length) return [];
    const severity: Severity = accepted(ex) ? 'warning' : 'error';
    const fix = 'Trim values at config load, remove quotes in .env files and secret manifests, create secret files without a trailing newline, and make sure the variable is actually set.';
    const google = ex.provider === 'google' && rejected(ex) ? ' Google answers such values with invalid_client "The OAuth client was not found."' : '';
    return [draft('client_credentials.suspicious_value', severity, 'high', ex,
      `Client credentials look mangled: ${items.map((i) => i.field).join(', ')}`,
      `${items.map((i) => `${i.field} ${i.text}`).join('; ')}.${severity === 'warning' ? ' This AS accepted it anyway (it trims), but others compare exactly.' : ''}${google}`,
      fix, { values: Object.fromEntries(items.map((i) => [i.field, i.evidence])) })];
  },
};

const multipleMethods: Rule = {
  code: 'client_auth.multiple_methods', family: 'client-auth', severity: 'error', kinds: AUTH_KINDS,
  check(ex) {
    const used = mechanisms(ex);
    if (used.length < 2) return [];
    const ca = ex.clientAuth;
    const idConflict = ca.basic?.clientId !== undefined && ca.bodyClientId !== undefined && ca.basic.clientId !== ca.bodyClientId;
    const fix = 'Use exactly one method, matching the registered token_endpoint_auth_method; do not add credentials to the body by hand when the library already sends Basic (or the reverse).';
    return [draft('client_auth.multiple_methods', 'error', 'high', ex, `More than one client authentication method: ${used.join(' + ')}`,
      `The request authenticates the client with ${used.join(' and ')}; RFC 6749 §2.3 says a client MUST NOT use more than one method per request, and strict servers answer invalid_request.`
      + `${idConflict ? ` The body client_id "${ca.bodyClientId}" also differs from the Basic username "${ca.basic?.clientId}", which is rejected for certain.` : ''}`
      + `${accepted(ex) ? ' This AS tolerated it.' : ''}`,
      fix, {
        mechanisms: used,
        ...(ca.basic ? { basic: { client_id: ca.basic.clientId, secret: ca.basic.secret ? secretEvidence(ca.basic.secret) : undefined } } : {}),
        ...(ca.clientSecret ? { body_client_secret: secretEvidence(ca.clientSecret) } : {}),
        ...(ca.clientAssertion ? { client_assertion: secretEvidence(ca.clientAssertion) } : {}),
        ...(idConflict ? { body_client_id: ca.bodyClientId } : {}),
      })];
  },
};

const basicEncoding: Rule = {
  code: 'client_auth.basic_encoding', family: 'client-auth', severity: 'warning', kinds: AUTH_KINDS,
  check(ex, ctx) {
    const b = ex.clientAuth.basic;
    if (!b) return [];
    const fail = rejected(ex);
    const fix = 'Form-urlencode client_id and secret separately, join them with ":" and base64 the result (RFC 6749 §2.3.1); if this AS does not decode, use client_secret_post or a secret without special characters.';
    const base = { basic: { valid_base64: b.validBase64, has_colon: b.hasColon, client_id: b.clientId, needs_form_encoding: b.needsFormEncoding, looks_form_encoded: b.looksFormEncoded, ...(b.secret ? { secret: secretEvidence(b.secret) } : {}) } };
    if (!b.validBase64 || !b.hasColon) {
      return [draft('client_auth.basic_encoding', 'error', 'high', ex, 'Malformed HTTP Basic client credentials',
        `The Authorization: Basic value ${!b.validBase64 ? 'is not valid base64' : 'has no ":" between client_id and secret'}, so no AS can read it.`, fix, base)];
    }
    if (b.needsFormEncoding && !b.looksFormEncoded) {
      return [draft('client_auth.basic_encoding', fail ? 'error' : 'warning', fail ? 'high' : 'medium', ex,
        'Basic client credentials are not form-encoded',
        'The Basic client_id or secret contains characters that form-decoding changes ("+", "%", "&", "=", ":", space or non-ASCII) and was sent without the per-component encoding of RFC 6749 §2.3.1, so a conforming AS reads a different value'
        + `${fail ? ' — and this AS rejected it.' : '. This AS accepted it (it does not decode), but a conforming one will not.'}`, fix, base)];
    }
    if (b.looksFormEncoded && authFailure(ex)) {
      const secret = b.secret;
      const bodyOk = secret && ctx.correlation.sameClientEarlier.find((e) => e.clientAuth.clientSecret?.fp === secret.fp && !e.clientAuth.basic && accepted(e));
      return [draft('client_auth.basic_encoding', 'error', bodyOk ? 'high' : 'medium', ex,
        bodyOk ? 'Body credentials work, Basic credentials fail' : 'The AS may not form-decode Basic credentials',
        bodyOk
          ? `The same client secret succeeded in the body (client_secret_post, exchange ${bodyOk.id}) but fails as form-encoded Basic credentials: this AS does not decode Basic components as RFC 6749 §2.3.1 requires.`
          : 'The Basic components were form-encoded (%XX) as RFC 6749 §2.3.1 requires, and the AS rejected them; a non-conforming AS compares the encoded text.',
        fix, base, bodyOk ? [bodyOk] : [])];
    }
    return [];
  },
};

const methodMismatch: Rule = {
  code: 'client_auth.method_mismatch', family: 'client-auth', severity: 'error', kinds: AUTH_KINDS,
  check(ex, ctx) {
    const used = methodName(ex);
    if (used === undefined) return [];
    const own = configuredClient(ctx, ex.clientId);
    const fail = rejected(ex);
    const hits: Array<{ sub: string; why: string; strong: boolean }> = [];
    const code = ex.providerError?.error;
    if (hasAadsts(ex, '700025')) hits.push({ sub: 'public_with_secret', why: 'Entra says the client is public, so neither client_assertion nor client_secret may be presented (AADSTS700025)', strong: true });
    // On the device and password grants AADSTS7000218 means "public client flows disabled": grant_type.not_allowed_for_client says that.
    const publicFlow = ex.grantType === 'password' || ex.grantType === 'urn:ietf:params:oauth:grant-type:device_code';
    if (publicFlow && hasAadsts(ex, '7000218')) return [];
    if (hasAadsts(ex, '7000218')) hits.push({ sub: 'no_credentials', why: 'Entra requires client_assertion or client_secret for this confidential client (AADSTS7000218)', strong: true });
    if (hasAadsts(ex, '9002327')) hits.push({ sub: 'spa_origin', why: 'the app is registered as a Single-Page Application, whose codes may only be redeemed by a cross-origin browser request with an Origin header (AADSTS9002327)', strong: true });
    if (hasAadsts(ex, '9002326')) hits.push({ sub: 'cross_origin_not_spa', why: 'a cross-origin (browser) redemption was made for a redirect URI not registered as SPA (AADSTS9002326)', strong: true });
    if (used === 'none' && !hits.length && (code === 'invalid_client' || (own?.type === 'confidential' || (own?.authMethod && own.authMethod !== 'none')))) {
      if (fail || !ex.response) hits.push({ sub: 'no_credentials', why: `the request carries no client authentication (no Basic, client_secret or client_assertion)${code === 'invalid_client' ? ' and the AS answered invalid_client' : ` although "${own?.name}" is configured as ${own?.authMethod ?? own?.type}`}`, strong: code === 'invalid_client' });
    }
    if ((own?.type === 'public' || own?.type === 'spa') && used !== 'none' && !hits.some((h) => h.sub === 'public_with_secret')) {
      hits.push({ sub: 'public_with_secret', why: `"${own.name}" is configured as a ${own.type} client but the request presents ${used}`, strong: true });
    }
    if (own?.type === 'spa' && ex.grantType === 'authorization_code' && !ex.request.origin && !hits.some((h) => h.sub === 'spa_origin')) {
      hits.push({ sub: 'spa_origin', why: `"${own.name}" is a SPA client but the code is redeemed without an Origin header (from a backend)`, strong: false });
    }
    if (own?.authMethod && own.authMethod !== used && used !== 'none' && !hits.length) {
      hits.push({ sub: 'config_mismatch', why: `the request uses ${used} but "${own.name}" is registered with ${own.authMethod}`, strong: true });
    }
    const advertised = ctx.correlation.discovery?.tokenEndpointAuthMethods;
    if (used !== 'none' && ex.kind === 'token' && !hits.length) {
      if (advertised?.length && !advertised.includes(used)) {
        hits.push({ sub: 'not_advertised', why: `the request uses ${used}, which the discovery document does not list in token_endpoint_auth_methods_supported (${advertised.join(', ')})`, strong: true });
      } else if (ctx.correlation.discovery && !advertised && used !== 'client_secret_basic' && fail && code === 'invalid_client') {
        hits.push({ sub: 'not_advertised', why: `the discovery document omits token_endpoint_auth_methods_supported, so only client_secret_basic is implied (RFC 8414 §2), and ${used} was rejected`, strong: false });
      }
    }
    if (!hits.length) return [];
    if (!fail && ex.response && !hits.some((h) => h.sub === 'public_with_secret' || h.sub === 'spa_origin')) {
      // Accepted: only a metadata/config drift worth a warning.
      if (!hits.some((h) => h.sub === 'not_advertised' || h.sub === 'config_mismatch')) return [];
    }
    const severity: Severity = fail || !ex.response ? 'error' : 'warning';
    const fix = 'Align the app registration type (web / SPA / public) with how the code is redeemed, and set the library\'s client authentication method explicitly (e.g. client_secret_basic vs client_secret_post).';
    return [draft('client_auth.method_mismatch', severity, hits.every((h) => h.strong) ? 'high' : 'medium', ex,
      `Client authentication method does not match what the AS expects (${hits[0]?.sub})`,
      `${hits.map((h) => h.why).join('; ')}.`, fix,
      { sub_diagnosis: hits.map((h) => h.sub), method_used: used, ...(advertised ? { advertised } : {}), ...(own ? { configured: { name: own.name, type: own.type, authMethod: own.authMethod } } : {}), origin: ex.request.origin ?? null })];
  },
};

export const rules: Rule[] = [
  suspiciousValue,
  multipleMethods,
  basicEncoding,
  methodMismatch,
  assertionRule,
  envMismatch,
  authenticationFailed,
];
