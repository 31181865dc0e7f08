/**
 * §1.11 discovery and issuer identity (R58–R60): a discovery document whose `issuer` is not the
 * issuer its URL was built from, calls to endpoints the observed metadata does not advertise, and an
 * authorization response whose RFC 9207 `iss` is wrong or missing.
 */
import type { AnalyzedExchange, DiscoveryMetadata } from '../types.js';
import type { Rule, RuleContext } from './types.js';
import { baseEvidence, is2xx } from './responses-util.js';
import { endpointBase, issuerFromDocumentUrl } from './oidc-util.js';

/** Which part of two issuer URLs differs first (an issuer that is no URL at all counts as `host`). */
function urlDifference(declared: string, expected: string): 'case' | 'scheme' | 'host' | 'path' {
  if (declared.replace(/\/$/, '').toLowerCase() === expected.toLowerCase()) return 'case';
  try {
    const [a, b] = [new URL(declared), new URL(expected)];
    return a.protocol !== b.protocol ? 'scheme' : a.host !== b.host ? 'host' : 'path';
  } catch {
    return 'host';
  }
}

const ISSUER_FIX = 'Configure the issuer exactly as the discovery document states it and build the discovery URL from that string; for Entra multi-tenant apps validate iss per tenant (tid) instead of against one issuer.';

const issuerMismatch: Rule = {
  code: 'discovery.issuer_mismatch', family: 'oidc', severity: 'error', kinds: ['discovery'],
  check(ex) {
    const meta = ex.discovery;
    if (!meta || !is2xx(ex)) return [];
    const expected = issuerFromDocumentUrl(meta.documentUrl);
    // OIDC Discovery §4: a terminating "/" of the issuer is removed before appending, so "https://x/" is fine at "https://x/.well-known/…".
    if (!expected || meta.issuer === expected || meta.issuer === `${expected}/`) return [];
    const template = /\{tenantid\}/i.test(meta.issuer);
    const entraDomain = !template && /login\.microsoftonline\.com/i.test(meta.issuer) && expected.replace(/\/[^/]+(\/v2\.0)?$/, '') === meta.issuer.replace(/\/[^/]+(\/v2\.0)?\/?$/, '');
    const diff = urlDifference(meta.issuer, expected);
    const hint = template
      ? 'Entra /common and /organizations publish the template issuer https://login.microsoftonline.com/{tenantid}/v2.0: a library comparing it byte-for-byte fails; validate iss per token tid.'
      : entraDomain ? 'Entra publishes the tenant GUID in its issuer even when the discovery URL uses a domain name: configure the GUID-based issuer.'
        : diff === 'host' ? 'The document lives on another host than its issuer (alias or custom domain vs canonical host): use the canonical issuer, or the custom domain consistently (Okta, Auth0 custom domains).'
          : diff === 'scheme' ? 'The URL and the issuer differ in scheme (http vs https): a TLS-terminating proxy or a misconfigured frontend URL (Keycloak KC_HOSTNAME) at the AS.'
            : 'The issuer path differs from the one in the URL (realm, tenant, authorization-server id, or a dynamic issuer).';
    return [{
      code: 'discovery.issuer_mismatch', severity: template ? 'warning' : 'error',
      title: `Discovery issuer "${meta.issuer}" is not the issuer "${expected}" the client used`,
      detail: `The discovery document at ${meta.documentUrl} declares issuer "${meta.issuer}", but the URL was built from "${expected}"; RFC 8414 §3.3 and OIDC Discovery §4.3 require them to be identical, so conforming libraries refuse the metadata. ${hint} ${ISSUER_FIX}`,
      fix: ISSUER_FIX,
      evidence: { ...baseEvidence(ex), document_url: meta.documentUrl, declared_issuer: meta.issuer, expected_issuer: expected, difference: template ? 'template' : diff },
      confidence: 'high',
      exchangeIds: [ex.id],
    }];
  },
};

const ADVERTISED: Partial<Record<AnalyzedExchange['kind'], { field: keyof DiscoveryMetadata; name: string }>> = {
  token: { field: 'tokenEndpoint', name: 'token_endpoint' },
  userinfo: { field: 'userinfoEndpoint', name: 'userinfo_endpoint' },
  jwks: { field: 'jwksUri', name: 'jwks_uri' },
  introspection: { field: 'introspectionEndpoint', name: 'introspection_endpoint' },
  revocation: { field: 'revocationEndpoint', name: 'revocation_endpoint' },
  device_authorization: { field: 'deviceAuthorizationEndpoint', name: 'device_authorization_endpoint' },
  par: { field: 'parEndpoint', name: 'pushed_authorization_request_endpoint' },
  authorize: { field: 'authorizationEndpoint', name: 'authorization_endpoint' },
};

function legacyHint(ex: AnalyzedExchange): string {
  const url = ex.request.url.base;
  if (/accounts\.google\.com\/o\/oauth2\/token|googleapis\.com\/oauth2\/v\d\/token/i.test(url)) return ' This is a legacy Google token URL; the current one is https://oauth2.googleapis.com/token.';
  if (/\/auth\/realms\//.test(url)) return ' The /auth prefix was removed from Keycloak URLs in version 17 (Quarkus).';
  return '';
}

const DRIFT_FIX = 'Take endpoint URLs from the discovery document (or refresh the hard-coded ones from it) instead of hard-coding legacy, other-tenant or other-region URLs.';

const endpointDrift: Rule = {
  code: 'discovery.endpoint_drift', family: 'oidc', severity: 'warning',
  kinds: ['token', 'userinfo', 'jwks', 'introspection', 'revocation', 'device_authorization', 'par', 'authorize'],
  check(ex, ctx) {
    const meta = ctx.correlation.discovery;
    const spec = ADVERTISED[ex.kind];
    if (!meta || !spec || meta.at > ex.at) return [];
    const advertised = meta[spec.field];
    if (typeof advertised !== 'string') return [];
    const called = endpointBase(ex.request.url.base);
    const allowed = [advertised, ...(ex.kind === 'token' ? Object.values(meta.mtlsAliases ?? {}) : [])].map(endpointBase);
    if (!called || allowed.includes(called)) return [];
    const failed = !!ex.response && (ex.response.status === 404 || ex.response.status === 405 || ex.response.status >= 400);
    return [{
      code: 'discovery.endpoint_drift', severity: failed ? 'error' : 'warning',
      title: `${spec.name.replace(/_/g, ' ')} called at ${ex.request.url.base}, not the advertised ${advertised}`,
      detail: `The client fetched discovery metadata for ${meta.issuer} (${meta.exchangeId}) but calls ${ex.request.url.base}, while the metadata advertises ${spec.name} ${advertised}.${legacyHint(ex)}${failed ? ` The call failed with HTTP ${ex.response?.status}.` : ''} ${DRIFT_FIX}`,
      fix: DRIFT_FIX,
      evidence: { ...baseEvidence(ex), issuer: meta.issuer, discovery_exchange: meta.exchangeId, field: spec.name, advertised, called: ex.request.url.base },
      confidence: 'high',
      exchangeIds: [meta.exchangeId, ex.id],
    }];
  },
};

/** The issuer an authorization response must name: the discovery issuer of the AS the flow used. */
function expectedIssuer(ex: AnalyzedExchange, ctx: RuleContext): { issuer: string; meta?: DiscoveryMetadata; via: string } | undefined {
  const asSide = !ex.authorizeResponse?.via.startsWith('callback');
  if (asSide && ctx.correlation.discovery) return { issuer: ctx.correlation.discovery.issuer, meta: ctx.correlation.discovery, via: 'discovery' };
  const authz = ctx.correlation.authorize;
  if (authz && authz.recognition === 'discovery') return { issuer: authz.issuer, via: `authorize ${authz.id}` };
  return undefined;
}

const ISS_FIX = 'Pass the complete callback parameter set (code, state and iss) to the OIDC library and validate iss against the issuer the authorize request went to (RFC 9207); a mismatch means the response came from another AS (mix-up).';

const issMismatch: Rule = {
  code: 'authorize_response.iss_mismatch', family: 'oidc', severity: 'error', kinds: ['authorize', 'authorize_response'],
  check(ex, ctx) {
    const resp = ex.authorizeResponse;
    if (!resp || (!resp.code && !resp.error)) return [];
    const expected = expectedIssuer(ex, ctx);
    if (!expected) return [];
    const ids = ctx.correlation.authorize && ctx.correlation.authorize.seq < ex.seq ? [ctx.correlation.authorize.id, ex.id] : [ex.id];
    if (resp.iss !== undefined) {
      // Entra multi-tenant metadata carries a {tenantid} template: any tenant's issuer of that shape matches.
      const template = /\{tenantid\}/i.test(expected.issuer)
        && new RegExp(`^${expected.issuer.replace(/[.*+?^$()|[\]\\/]/g, '\\$&').replace(/\\?\{tenantid\\?\}/i, '[^/]+')}$`, 'i').test(resp.iss);
      if (resp.iss === expected.issuer || template) return [];
      return [{
        code: 'authorize_response.iss_mismatch', severity: 'error',
        title: `Authorization response iss "${resp.iss}" is not the issuer "${expected.issuer}"`,
        detail: `The authorization response (${resp.via}) names iss "${resp.iss}", but the flow's AS is "${expected.issuer}" (from ${expected.via}). A conforming client must reject it (RFC 9207 §2.4): it is a mix-up, or the AS is configured with another frontend URL than its discovery issuer. ${ISS_FIX}`,
        fix: ISS_FIX,
        evidence: { ...baseEvidence(ex), response_via: resp.via, iss: resp.iss, expected_issuer: expected.issuer, expected_from: expected.via },
        confidence: 'high',
        exchangeIds: ids,
      }];
    }
    if (!expected.meta?.issParameterSupported) return [];
    return [{
      code: 'authorize_response.iss_mismatch', severity: 'error',
      title: 'Authorization response lacks iss although the AS advertises it',
      detail: `The discovery metadata of ${expected.issuer} sets authorization_response_iss_parameter_supported: true, but this authorization response (${resp.via}) has no iss parameter; RFC 9207 §2.4 clients then reject it. Something between the AS and the client dropped it, or the AS configuration is inconsistent. ${ISS_FIX}`,
      fix: ISS_FIX,
      evidence: { ...baseEvidence(ex), response_via: resp.via, iss: null, expected_issuer: expected.issuer, discovery_exchange: expected.meta.exchangeId },
      confidence: 'high',
      exchangeIds: ids,
    }];
  },
};

export const rules: Rule[] = [issuerMismatch, endpointDrift, issMismatch];
