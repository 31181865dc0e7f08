/**
 * §1.16 Secret hygiene (R70 secret.in_url): a credential or grant in a URL query or fragment, a
 * Location or a Referer — places that end up in server and proxy logs and in browser history.
 */
import { parseUrl } from '../parse.js';
import type { AnalyzedExchange, SecretOccurrence, SecretPlace } from '../types.js';
import type { Rule } from './types.js';
import { baseEvidence } from './responses-util.js';

const URL_PLACES: ReadonlySet<SecretPlace> = new Set(['request.query', 'request.fragment', 'request.referer', 'response.location', 'response.content_location']);

/**
 * Class B correlation values (§4.1): sensitive, but they belong in authorize URLs. OAuth 1.0a passes its request
 * token and verifier through the browser redirect by design (a different protocol, not judged here).
 */
const CORRELATION = new Set(['state', 'nonce', 'session_state', 'jti', 'request_uri', 'user_code', 'login_hint', 'oauth_token', 'oauth_verifier']);
/** Authorization-response parameters that travel in the redirect by design. */
const RESPONSE_PARAMS = new Set(['code', 'iss', 'state', 'session_state']);

const PLACE_TEXT: Record<string, string> = {
  'request.query': 'the request URL query',
  'request.fragment': 'the request URL fragment',
  'request.referer': 'the Referer header',
  'response.location': 'the Location header',
  'response.content_location': 'the Content-Location header',
};

type Verdict = 'error' | 'warning' | 'skip';

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const host = parseUrl(url).host;
  return host || undefined;
}

/** Whether this occurrence is a finding, and how severe, per R70's exemptions and documented provider exceptions. */
function verdict(ex: AnalyzedExchange, occ: SecretOccurrence): { v: Verdict; note?: string } {
  const name = occ.name.toLowerCase();
  if (CORRELATION.has(name)) return { v: 'skip' };
  // OIDC puts id_token_hint and signed request objects in authorize/logout URLs by design.
  if (name === 'id_token_hint' || (name === 'request' && ex.kind === 'authorize')) return { v: 'skip' };
  if (occ.place === 'request.referer') {
    if (name !== 'code' && !RESPONSE_PARAMS.has(name)) return { v: 'error', note: 'sent onwards in the Referer header' };
    const refHost = hostOf(ex.request.referer);
    // The callback URL with its code, sent as Referer to another host: the code leaks to a third party.
    if (name === 'code' && refHost && refHost !== ex.request.url.host) return { v: 'error', note: `callback URL with its code sent as Referer to ${ex.request.url.host}` };
    return { v: 'skip' };
  }
  if (ex.kind === 'authorize_response' && RESPONSE_PARAMS.has(name)) return { v: 'skip' };
  // Implicit/hybrid authorization responses put tokens in the redirect fragment by design (the classifier may call
  // a code-less implicit redirect `other`, so decide from the facts).
  const redirectFragment = (occ.place === 'response.location' && (ex.response?.location ?? '').includes('#')) || occ.place === 'request.fragment';
  if (redirectFragment || ex.kind === 'authorize_response') {
    if (name === 'id_token') return { v: 'skip' };
    if (name === 'access_token') return { v: 'warning', note: 'implicit flow: the access token travels in the redirect URL (deprecated by RFC 9700; use the code flow with PKCE)' };
  }
  if (ex.provider === 'facebook' && ex.kind === 'token') return { v: 'warning', note: 'Facebook documents this GET exchange, but the secret still lands in logs' };
  if (ex.provider === 'slack' && name === 'token' && occ.place === 'request.query') return { v: 'warning', note: 'Slack legacy token= argument; send it as Authorization: Bearer' };
  if (ex.provider === 'google' && ex.kind === 'revocation' && name === 'token') return { v: 'warning', note: 'Google documents ?token= on /revoke; a form body works too' };
  return { v: 'error' };
}

const FIX = 'Move secrets to the POST body or the Authorization header, and rotate every secret that appeared in a URL: URLs are written to proxy and server logs, browser history and Referer headers.';

const inUrl: Rule = {
  code: 'secret.in_url', family: 'secrets', severity: 'error',
  check(ex) {
    const hits: Array<{ occ: SecretOccurrence; v: Exclude<Verdict, 'skip'>; note?: string }> = [];
    const seen = new Set<string>();
    for (const occ of ex.secrets) {
      if (!URL_PLACES.has(occ.place)) continue;
      const dedupe = `${occ.place}|${occ.name}|${occ.ref.fp}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      const { v, note } = verdict(ex, occ);
      if (v !== 'skip') hits.push({ occ, v, ...(note ? { note } : {}) });
    }
    if (!hits.length) return [];
    const severity = hits.some((h) => h.v === 'error') ? 'error' : 'warning';
    const names = [...new Set(hits.map((h) => h.occ.name))];
    const places = [...new Set(hits.map((h) => PLACE_TEXT[h.occ.place] ?? h.occ.place))];
    const notes = [...new Set(hits.map((h) => h.note).filter(Boolean))];
    return [{
      code: 'secret.in_url', severity,
      title: `${names.join(', ')} in ${places.join(' and ')}`,
      detail: `RFC 6749 §2.3.1: client credentials "MUST NOT be included in the request URI"; RFC 6750 §2.3/§5.3 and RFC 9700 §4.2–4.3 say the same of tokens. Found ${hits.map((h) => `${h.occ.name} in ${PLACE_TEXT[h.occ.place] ?? h.occ.place}`).join(', ')}.${notes.length ? ` ${notes.join('; ')}.` : ''} ${FIX}`,
      fix: FIX,
      evidence: {
        ...baseEvidence(ex),
        secrets: hits.map((h) => ({ place: h.occ.place, name: h.occ.name, value: h.occ.ref.display, ...(h.v === 'warning' ? { downgraded: true } : {}) })),
      },
      confidence: 'high', exchangeIds: [ex.id],
    }];
  },
};

export const rules: Rule[] = [inUrl];
