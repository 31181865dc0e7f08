/**
 * §1.15 TLS, intermediaries, capture gaps (R66–R69): the lens could not reach the AS over TLS, the
 * client refused the lens certificate, something other than the AS answered (or damaged the request),
 * or a code was issued but its token exchange never passed through the lens.
 */
import { CLIENT_TLS_REJECTED } from '../../capture/client-tls-failure.js';
import { header, headerValues } from '../facts.js';
import type { AnalyzedExchange } from '../types.js';
import type { Rule } from './types.js';
import { OAUTH_KINDS, TLS_TRANSPORT, baseEvidence, errorText, seconds } from './responses-util.js';

const TLS_TEXT: Record<string, { what: string; hint: string }> = {
  tls_untrusted: {
    what: 'the AS certificate chain is not trusted',
    hint: 'Usually a corporate TLS-inspection proxy upstream, or a private CA on a self-hosted AS: give oauth-lens that CA with --upstream-ca FILE (never --insecure-upstream in production).',
  },
  tls_expired: {
    what: 'the AS certificate is expired (or not yet valid)',
    hint: 'The server must renew its certificate; also check this machine\'s clock.',
  },
  tls_hostname: {
    what: 'the AS certificate is for another host name',
    hint: 'Check the host: wrong tenant, region or environment host, or a DNS entry pointing at another server.',
  },
  tls_other: {
    what: 'the TLS handshake failed (protocol version or cipher mismatch, or an alert)',
    hint: 'The server may require TLS 1.2+ (Entra rejects older versions with AADSTS1002016) or offer ciphers the runtime lacks.',
  },
};

const handshakeFailed: Rule = {
  code: 'tls.upstream_handshake_failed', family: 'transport', severity: 'error',
  check(ex) {
    const te = ex.transportError;
    const aad = ex.providerError?.aadsts.includes('1002016') ?? false;
    if (!(te && TLS_TRANSPORT.has(te.code)) && !aad) return [];
    const key = aad ? 'tls_other' : te!.code;
    const info = TLS_TEXT[key]!;
    const cert = ex.tls?.peerCertificate;
    const hint = aad ? 'Entra AADSTS1002016: the client used TLS older than 1.2; upgrade the runtime/TLS settings.' : info.hint;
    return [{
      code: 'tls.upstream_handshake_failed', severity: 'error',
      title: `TLS to ${ex.request.url.host} failed: ${aad ? 'TLS version below 1.2 (AADSTS1002016)' : info.what}`,
      detail: `oauth-lens could not establish TLS with the authorization server ${ex.request.url.host}: ${aad ? 'Entra rejected the TLS version' : `${info.what}${te?.nodeCode ? ` (${te.nodeCode})` : ''}`}. The client saw a 502 from the lens carrying this reason; without the lens it would fail the same way. ${hint}`,
      fix: hint,
      evidence: {
        ...baseEvidence(ex), host: ex.request.url.host, port: ex.request.url.port,
        ...(ex.tls?.sni !== undefined ? { sni: ex.tls.sni } : {}), ...(ex.tls?.protocol ? { protocol: ex.tls.protocol } : {}),
        ...(cert ? { certificate: { subject: cert.subject, issuer: cert.issuer, valid_to: cert.validTo, ...(cert.fingerprint256 ? { sha256: cert.fingerprint256 } : {}) } } : {}),
      },
      confidence: 'high', exchangeIds: [ex.id],
    }];
  },
};

/** Client-side TLS alerts that mean "I do not trust this certificate" (curl, Python, Java send one; Node just hangs up). */
const CLIENT_ALERT = /UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|unknown ca|bad certificate|certificate unknown/i;


const CA_FIX = 'Make the runtime trust the oauth-lens CA (`oauth-lens env` prints the exports): Node NODE_EXTRA_CA_CERTS, Python requests REQUESTS_CA_BUNDLE, OpenSSL-based runtimes SSL_CERT_FILE, JVM a truststore via keytool / -Djavax.net.ssl.trustStore; remove certificate pinning for the AS host while debugging. Never disable verification (NODE_TLS_REJECT_UNAUTHORIZED=0).';

const clientRejectedCa: Rule = {
  code: 'tls.client_rejected_lens_ca', family: 'transport', severity: 'warning',
  check(ex) {
    const te = ex.transportError;
    if (!te) return [];
    const explicit = te.code === CLIENT_TLS_REJECTED;
    const alert = CLIENT_ALERT.test(`${te.nodeCode ?? ''} ${te.message}`);
    if (!explicit && !(alert && ex.request.method === 'CONNECT')) return [];
    const host = ex.request.url.host || ex.request.url.base;
    const how = alert ? `sent a TLS alert (${te.nodeCode ?? te.message})` : `closed the connection during the handshake (${te.nodeCode ?? te.message}; Node clients hang up without an alert)`;
    return [{
      code: 'tls.client_rejected_lens_ca', severity: 'warning',
      title: `Client refused the oauth-lens certificate for ${host}`,
      detail: `The client${ex.clientAddress ? ` at ${ex.clientAddress}` : ''} ${how} instead of completing TLS with oauth-lens for ${host}: it does not trust the oauth-lens CA or pins certificates. No HTTP request was captured on that connection, so nothing else can be diagnosed for it. ${CA_FIX}`,
      fix: CA_FIX,
      evidence: { exchange: ex.id, target: host, transport_error: { code: te.code, message: te.message, ...(te.nodeCode ? { node_code: te.nodeCode } : {}) }, ...(ex.clientAddress ? { client: ex.clientAddress } : {}) },
      confidence: alert ? 'high' : 'medium', exchangeIds: [ex.id],
    }];
  },
};

/** Response headers set by proxies, caches, WAFs and CDNs (not by an AS). */
const INTERMEDIARY_HEADERS = ['via', 'x-cache', 'x-squid-error', 'proxy-agent', 'cf-mitigated', 'x-amzn-waf-action', 'x-iinfo', 'x-sucuri-id'];
/** Headers that alone prove an intermediary produced the response. */
const DECISIVE = new Set(['x-squid-error', 'proxy-agent', 'cf-mitigated', 'x-amzn-waf-action']);
const BLOCK_TITLE = /access denied|blocked|attention required|just a moment|captive|request rejected|web filter|security check|proxy error|firewall|not allowed|authentication required/i;

function interference(ex: AnalyzedExchange): { why: string; markers: Record<string, string> } | undefined {
  const r = ex.response;
  if (!r) return undefined;
  const markers: Record<string, string> = {};
  for (const name of INTERMEDIARY_HEADERS) {
    const v = headerValues(r.headers, name)[0];
    if (v !== undefined) markers[name] = v.slice(0, 120);
  }
  if (r.status === 407) return { why: 'HTTP 407 Proxy Authentication Required: a proxy between oauth-lens and the AS wants credentials', markers };
  const decisive = Object.keys(markers).find((m) => DECISIVE.has(m));
  if (decisive) return { why: `the response carries ${decisive}: ${markers[decisive]}`, markers };
  const title = r.htmlTitle ?? ex.providerError?.htmlTitle;
  if (r.bodyFormat === 'html' && (r.status >= 400 || r.status < 200) && Object.keys(markers).length && title && BLOCK_TITLE.test(title)) {
    return { why: `an HTML page titled "${title}" from an intermediary (${Object.keys(markers).join(', ')}) answered instead of the AS`, markers };
  }
  return undefined;
}

const PROXY_FIX = 'Exempt the AS hosts from TLS inspection, blocking and caching, or bypass the intermediary (NO_PROXY for the AS host on the chained proxy); fix whatever truncates the request body.';

const proxyInterference: Rule = {
  code: 'proxy.interference', family: 'transport', severity: 'error', kinds: OAUTH_KINDS,
  check(ex, ctx) {
    const found: string[] = [];
    const evidence: Record<string, unknown> = {};
    const i = interference(ex);
    if (i) {
      found.push(i.why);
      evidence.intermediary_headers = i.markers;
    }
    const req = ex.request;
    // A body that is absent altogether is more often a capture without bodies (HAR exports) than truncation.
    if (req.contentLength !== undefined && req.bodySize > 0 && req.bodySize < req.contentLength) {
      found.push(`the request body is ${req.bodySize} bytes but Content-Length says ${req.contentLength}: something between the client and oauth-lens truncated it`);
      evidence.body = { content_length: req.contentLength, received: req.bodySize };
    }
    let confidence: 'high' | 'medium' = 'high';
    if ((req.via ?? req.forwarded) && ex.kind === 'token') {
      const client = ctx.config.clients.find((c) => c.clientId === ex.clientId);
      const methods = ex.clientAuth.methods;
      const missing = client?.authMethod === 'client_secret_basic' && !methods.includes('basic') ? 'the Authorization (Basic) header'
        : client?.authMethod === 'client_secret_post' && !methods.includes('post') ? 'client_secret in the body' : undefined;
      if (missing) {
        found.push(`the request reached oauth-lens through another proxy (${req.via ? `Via: ${req.via}` : `Forwarded: ${req.forwarded}`}) without ${missing}, which client "${client!.name}" is configured to send`);
        evidence.upstream_of_lens = { via: req.via ?? null, forwarded: req.forwarded ?? null, configured_auth: client!.authMethod };
      } else if (!client && (ex.providerError?.error === 'invalid_client' || ex.response?.status === 401)) {
        found.push(`the request came through another proxy (${req.via ? `Via: ${req.via}` : `Forwarded: ${req.forwarded}`}) and the AS answered ${errorText(ex)}: check that proxy does not strip or rewrite credentials`);
        evidence.upstream_of_lens = { via: req.via ?? null, forwarded: req.forwarded ?? null };
        confidence = 'medium';
      }
    }
    if (!found.length) return [];
    return [{
      code: 'proxy.interference', severity: 'error',
      title: `Intermediary interfered with the ${ex.kind} request: ${found[0]!.slice(0, 140)}`,
      detail: `${found.map((f) => `${f[0]!.toUpperCase()}${f.slice(1)}.`).join(' ')} ${PROXY_FIX}`,
      fix: PROXY_FIX,
      evidence: { ...baseEvidence(ex), ...evidence, ...(header(ex.response?.headers ?? [], 'server') ? { server: header(ex.response?.headers ?? [], 'server') } : {}) },
      confidence, exchangeIds: [ex.id],
    }];
  },
};

const GAP_FIX = 'Route the backend through oauth-lens: `oauth-lens run -- CMD` sets everything; Node\'s built-in fetch ignores HTTPS_PROXY unless NODE_USE_ENV_PROXY=1 (or an EnvHttpProxyAgent) is used; remove the AS host from NO_PROXY; the JVM needs -Dhttps.proxyHost/-Dhttps.proxyPort. If the SPA redeems the code in the browser, proxy the browser too.';

const notObserved: Rule = {
  code: 'capture.exchange_not_observed', family: 'transport', severity: 'info', kinds: ['authorize_response'],
  check(ex, ctx) {
    const resp = ex.authorizeResponse;
    if (!resp?.code) return [];
    // One finding per flow: on the callback request when the browser's hop was captured, else on the AS redirect.
    const isCallback = resp.via === 'callback_query' || resp.via === 'callback_form';
    if (!isCallback && ctx.correlation.callbacks.length) return [];
    const waited = ctx.now - ex.at;
    if (waited < ctx.thresholds.captureGapMs) return [];
    if (ctx.correlation.sameCodeEarlier.length || ctx.correlation.sameCodeLater.length) return [];
    const clientId = ctx.correlation.authorize?.authorize?.clientId;
    return [{
      code: 'capture.exchange_not_observed', severity: 'info',
      title: `No token exchange seen for the code delivered to ${resp.target} (${seconds(waited)} later)`,
      detail: `The authorization response delivered a code to ${resp.target}${clientId ? ` for client ${clientId}` : ''}, but no token request carrying that code passed through oauth-lens within ${seconds(ctx.thresholds.captureGapMs)}. The backend most likely bypasses the proxy, so its token exchange cannot be diagnosed. ${GAP_FIX}`,
      fix: GAP_FIX,
      evidence: { exchange: ex.id, target: resp.target, code: resp.code.display, waited_ms: Math.round(waited), ...(clientId ? { client_id: clientId } : {}) },
      confidence: 'medium', exchangeIds: [ex.id],
    }];
  },
};

export const rules: Rule[] = [handshakeFailed, clientRejectedCa, proxyInterference, notObserved];
