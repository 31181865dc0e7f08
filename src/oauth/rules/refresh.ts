/**
 * §1.10 Refresh tokens (R51–R53) and token over-issuance (R50, catalogue family `responses`): rotated
 * refresh tokens used again or raced, refresh tokens the AS no longer honours, refresh tokens never
 * issued, and tokens fetched again while the previous one is still valid.
 */
import { paramText } from '../facts.js';
import type { AnalyzedExchange } from '../types.js';
import type { Rule, RuleContext } from './types.js';
import { baseEvidence, errorText, grantRejected, is2xx, missingValue, seconds } from './responses-util.js';

const issued = (e: AnalyzedExchange) => is2xx(e) && !!e.tokenResponse?.accessToken && !e.providerError?.error;

function expiresMs(e: AnalyzedExchange): number | undefined {
  const v = e.tokenResponse?.expiresIn;
  const n = typeof v === 'string' ? Number(v) : v;
  return n !== undefined && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

/** What makes two token requests ask for "the same token" (client, grant, scope, audience/resource). */
function issuanceKey(e: AnalyzedExchange): string | undefined {
  if (e.grantType === 'client_credentials') {
    return ['cc', e.clientId ?? '-', e.scopeRaw ?? '-', paramText(e.params, 'audience') ?? '-', paramText(e.params, 'resource') ?? '-'].join('|');
  }
  // A refresh with the same (non-rotated) refresh token asks for the same user's token again.
  if (e.grantType === 'refresh_token' && e.refreshToken) return ['rt', e.clientId ?? '-', e.refreshToken.fp, e.scopeRaw ?? '-'].join('|');
  return undefined;
}

const ISSUANCE_FIX = 'Cache the token until exp minus a small skew and reuse it; fetch through a single-flight helper so concurrent callers share one request.';

const excessiveIssuance: Rule = {
  code: 'token.excessive_issuance', family: 'responses', severity: 'warning', kinds: ['token'],
  check(ex, ctx) {
    const key = issuanceKey(ex);
    if (!key || !issued(ex)) return [];
    const pool = ex.grantType === 'refresh_token' ? ctx.correlation.sameRefreshEarlier : ctx.correlation.sameClientEarlier;
    const stillValid = pool.filter((e) => e.grantType === ex.grantType && e.id !== ex.id && issued(e) && issuanceKey(e) === key
      && (expiresMs(e) === undefined ? ex.at - e.at < 300_000 : e.at + expiresMs(e)! > ex.at));
    if (stillValid.length + 1 <= ctx.thresholds.overIssuanceCount) return [];
    const hint = ex.provider === 'auth0' ? ' Auth0 counts M2M token requests against a quota.'
      : ex.provider === 'github' ? ' GitHub keeps ten tokens per user/app/scope and revokes older ones.'
        : ex.provider === 'google' ? ' Google keeps 100 refresh tokens per account and client, silently invalidating the oldest.'
          : ex.provider === 'entra' ? ' Entra may answer AADSTS50196 (loop detected).' : '';
    const first = stillValid[0]!;
    return [{
      code: 'token.excessive_issuance', severity: 'warning',
      title: `${stillValid.length + 1} ${ex.grantType} tokens for the same client and scope within ${seconds(ex.at - first.at)}, earlier ones still valid`,
      detail: `Client ${ex.clientId ?? '?'} fetched ${stillValid.length + 1} tokens for the same ${ex.grantType === 'refresh_token' ? 'refresh token' : 'scope/audience'} while the first (expires_in ${first.tokenResponse?.expiresIn ?? '?'}) was still valid: it fetches a token per request instead of caching.${hint} ${ISSUANCE_FIX}`,
      fix: ISSUANCE_FIX,
      evidence: { ...baseEvidence(ex), tokens: stillValid.length + 1, threshold: ctx.thresholds.overIssuanceCount, scope: ex.scopeRaw ?? null, first_issued: first.id, expires_in: first.tokenResponse?.expiresIn ?? null },
      confidence: 'high',
      exchangeIds: [...stillValid.map((e) => e.id).slice(-9), ex.id],
    }];
  },
};

interface Reuse { kind: 'rotated' | 'concurrent'; other: AnalyzedExchange; newRt?: string }

/** Why this refresh reuses its token: rotated out by an earlier refresh, or raced with another refresh. */
function reuse(ex: AnalyzedExchange, ctx: RuleContext): Reuse | undefined {
  const rt = ex.refreshToken;
  if (ex.grantType !== 'refresh_token' || !rt) return undefined;
  const rotatedOut = (e: AnalyzedExchange) => e.at < ex.at && issued(e) && !!e.tokenResponse?.refreshToken && e.tokenResponse.refreshToken.ref.fp !== rt.fp;
  const rotator = [ctx.correlation.refreshRotatedBy, ...ctx.correlation.sameRefreshEarlier].find((e) => e && e.id !== ex.id && rotatedOut(e));
  const concurrentWith = (e: AnalyzedExchange) => Math.abs(e.at - ex.at) <= ctx.thresholds.concurrentRefreshMs
    || (e.at <= ex.at && (e.timings.end ?? e.at) > ex.at) || (ex.at <= e.at && (ex.timings.end ?? ex.at) > e.at);
  const racing = [...ctx.correlation.sameRefreshEarlier, ...ctx.correlation.sameRefreshLater].find((e) => e.id !== ex.id && concurrentWith(e));
  if (racing && (grantRejected(ex) || grantRejected(racing) || rotator)) {
    return { kind: 'concurrent', other: racing, ...(rotator?.tokenResponse?.refreshToken ? { newRt: rotator.tokenResponse.refreshToken.ref.display } : {}) };
  }
  if (rotator) return { kind: 'rotated', other: rotator, ...(rotator.tokenResponse?.refreshToken ? { newRt: rotator.tokenResponse.refreshToken.ref.display } : {}) };
  return undefined;
}

const REUSE_FIX = 'Persist the new refresh token atomically before using it; single-flight the refresh (an in-process lock, plus a distributed lock when several instances share the token); use the AS reuse window if it has one (Auth0 "Rotation Overlap Period").';

const reuseOrRace: Rule = {
  code: 'refresh_token.reuse_or_race', family: 'refresh', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    const r = reuse(ex, ctx);
    if (!r) return [];
    const rejected = grantRejected(ex) || (ex.provider === 'auth0' && ex.response?.status === 403);
    const dt = Math.abs(ex.at - r.other.at);
    const what = r.kind === 'rotated'
      ? `This refresh presented a refresh token that exchange ${r.other.id} had already rotated into a new one ${seconds(dt)} earlier (RFC 6749 §6: the client MUST discard the old refresh token).`
      : `Two refreshes presented the same refresh token ${seconds(dt)} apart (${r.other.id} and this one): several tabs, instances or per-request middleware refreshing at once.`;
    const outcome = rejected ? ` The AS rejected it: ${errorText(ex)}. With reuse detection the whole token family may now be revoked, including the newest refresh token.`
      : ' The AS accepted it this time (a reuse window), but a rotating AS with reuse detection will reject it and revoke the token family.';
    return [{
      code: 'refresh_token.reuse_or_race', severity: rejected ? 'error' : 'warning',
      title: r.kind === 'rotated' ? `Rotated-out refresh token used again${rejected ? ` (${errorText(ex)})` : ''}` : `Concurrent refreshes with one refresh token${rejected ? ` (${errorText(ex)})` : ''}`,
      detail: `${what}${outcome} ${REUSE_FIX}`,
      fix: REUSE_FIX,
      evidence: {
        ...baseEvidence(ex), pattern: r.kind, refresh_token: ex.refreshToken?.display, other_exchange: r.other.id, delta_ms: Math.round(dt),
        ...(r.newRt ? { rotated_to: r.newRt } : {}), ...(ctx.correlation.refreshIssuedBy ? { issued_by: ctx.correlation.refreshIssuedBy.id } : {}),
      },
      confidence: 'high',
      exchangeIds: r.other.at < ex.at ? [r.other.id, ex.id] : [ex.id, r.other.id],
    }];
  },
};

interface Cause { sub: string; text: string; confidence: 'high' | 'medium' }

function expiryCause(ex: AnalyzedExchange, ctx: RuleContext): Cause | undefined {
  const pe = ex.providerError;
  const err = pe?.error ?? '';
  const desc = pe?.errorDescription ?? '';
  const issuedBy = ctx.correlation.refreshIssuedBy;
  const age = issuedBy ? ex.at - issuedBy.at : undefined;
  if (ex.provider === 'google' || /google/.test(ex.request.url.host)) {
    if (pe?.errorSubtype === 'invalid_rapt') return { sub: 'google_session_control', text: 'Google error_subtype invalid_rapt: a Workspace session-control policy requires re-authentication.', confidence: 'high' };
    if (err === 'admin_policy_enforced' || /admin_policy_enforced/.test(desc)) return { sub: 'google_admin_policy', text: 'Google admin_policy_enforced: a Workspace admin policy blocks this client or scope.', confidence: 'high' };
    if (age !== undefined && age >= 6 * 86_400_000 && age <= 8 * 86_400_000) {
      return { sub: 'google_testing_7d', text: `The refresh token was issued ${seconds(age)} ago: apps whose OAuth consent screen is External + "Testing" get refresh tokens that expire after 7 days (except openid/email/profile-only). Publish the consent screen to Production and obtain new refresh tokens.`, confidence: 'high' };
    }
    if (err === 'invalid_grant' && /expired or revoked/i.test(desc)) {
      return { sub: 'google_expired_or_revoked', text: 'Google "Token has been expired or revoked": the user revoked access, the token was unused for 6 months, the password changed (Gmail scopes), more than 100 refresh tokens exist for this account and client, or the consent screen is External + Testing (7-day tokens).', confidence: 'high' };
    }
  }
  if (pe?.aadsts.includes('70008')) {
    const spa = ctx.config.clients.find((c) => c.clientId === ex.clientId)?.type === 'spa';
    return { sub: 'entra_inactive', text: `Entra AADSTS70008: the refresh token expired (inactivity or max age).${spa || ex.request.origin ? ' SPA-registered refresh tokens expire after 24 hours.' : ''}`, confidence: 'high' };
  }
  if (pe?.aadsts.includes('700082')) return { sub: 'entra_inactive', text: 'Entra AADSTS700082: the refresh token expired due to inactivity.', confidence: 'high' };
  if (ex.provider === 'salesforce' && /expired access\/refresh token/i.test(desc)) return { sub: 'salesforce_expired', text: 'Salesforce "expired access/refresh token": the connected app\'s refresh-token policy expired it, or it was revoked.', confidence: 'high' };
  if (ex.provider === 'auth0' && /unknown or invalid refresh token/i.test(desc)) return { sub: 'auth0_invalid', text: 'Auth0 "Unknown or invalid refresh token.": expired, revoked, or rotated out (then reuse detection revokes the family).', confidence: 'high' };
  if (err === 'invalid_refresh_token') return { sub: 'slack_rotation', text: 'Slack invalid_refresh_token: with token rotation the refresh token can be used once and access tokens expire every 12 hours.', confidence: 'high' };
  if (err === 'bad_refresh_token') return { sub: 'github_expired', text: 'GitHub bad_refresh_token: the refresh token (valid 6 months, single use) expired or was already used.', confidence: 'high' };
  if (err === 'invalid_grant') return { sub: 'generic', text: `The AS answered ${errorText(ex)}: the refresh token is expired, revoked, or was issued to another client.`, confidence: 'medium' };
  return undefined;
}

const EXPIRED_FIX = 'Re-authorize the user to get a new refresh token and handle invalid_grant on refresh by starting a new login; use refresh tokens regularly.';

const expiredOrRevoked: Rule = {
  code: 'refresh_token.expired_or_revoked', family: 'refresh', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    if (ex.grantType !== 'refresh_token' || !ex.refreshToken || missingValue(ex.refreshToken)) return [];
    if (!grantRejected(ex) && !(ex.provider === 'auth0' && ex.response?.status === 403 && ex.providerError?.error === 'invalid_grant')) return [];
    // Explained by rotation or a race: refresh_token.reuse_or_race says so instead.
    if (reuse(ex, ctx)) return [];
    const cause = expiryCause(ex, ctx);
    if (!cause) return [];
    const fix = cause.sub === 'google_testing_7d' || cause.sub === 'google_expired_or_revoked'
      ? `${EXPIRED_FIX} Google: publish the OAuth consent screen to Production, then obtain new refresh tokens (old ones keep their short expiry).` : EXPIRED_FIX;
    return [{
      code: 'refresh_token.expired_or_revoked', severity: 'error',
      title: `Refresh token rejected: ${errorText(ex)}`.slice(0, 200),
      detail: `${cause.text} ${fix}`,
      fix,
      evidence: {
        ...baseEvidence(ex), cause: cause.sub, refresh_token: ex.refreshToken.display,
        ...(ctx.correlation.refreshIssuedBy ? { issued_by: ctx.correlation.refreshIssuedBy.id, age_ms: Math.round(ex.at - ctx.correlation.refreshIssuedBy.at) } : {}),
      },
      confidence: cause.confidence,
      exchangeIds: ctx.correlation.refreshIssuedBy ? [ctx.correlation.refreshIssuedBy.id, ex.id] : [ex.id],
    }];
  },
};

function offlineHint(provider: string | undefined): string {
  switch (provider) {
    case 'google': return 'Google returns a refresh token only with access_type=offline, and only when the consent screen is shown (force it with prompt=consent).';
    case 'entra': return 'Entra returns a refresh token only when the offline_access scope is requested.';
    case 'okta': case 'auth0': return 'Request the offline_access scope (and enable the refresh_token grant for the application).';
    case 'github': return 'GitHub issues refresh tokens only for GitHub Apps with expiring user tokens enabled.';
    default: return 'Request offline access (the offline_access scope, or the provider\'s equivalent such as Google access_type=offline with prompt=consent).';
  }
}

const notIssued: Rule = {
  code: 'refresh_token.not_issued', family: 'refresh', severity: 'warning', kinds: ['token'],
  check(ex, ctx) {
    // The refresh attempt with nothing to refresh with.
    if (ex.grantType === 'refresh_token' && missingValue(ex.refreshToken ?? (ex.params.find((p) => p.name === 'refresh_token')?.value))) {
      const code = [...ctx.correlation.sameClientEarlier].reverse().find((e) => e.grantType === 'authorization_code' && issued(e) && !e.tokenResponse?.refreshToken);
      const sent = ex.refreshToken ? ex.refreshToken.display : 'an empty value';
      const rejected = !!ex.response && !is2xx(ex);
      const hint = offlineHint(ex.provider ?? code?.provider);
      return [{
        code: 'refresh_token.not_issued', severity: rejected ? 'error' : 'warning',
        title: `Refresh attempted with ${ex.refreshToken?.anomalies.includes('literal') ? 'a literal placeholder' : 'no'} refresh token${code ? `; the code exchange ${code.id} returned none` : ''}`,
        detail: `The client sent grant_type=refresh_token with ${sent}${code ? `, and the earlier code exchange (${code.id}) succeeded without a refresh_token` : ''}: it never received a refresh token. ${hint}`,
        fix: hint,
        evidence: { ...baseEvidence(ex), refresh_token_sent: sent, ...(code ? { code_exchange: code.id } : {}) },
        confidence: code ? 'high' : 'medium',
        exchangeIds: code ? [code.id, ex.id] : [ex.id],
      }];
    }
    // The code exchange that asked for offline access and got no refresh token.
    if (ex.grantType !== 'authorization_code' || !issued(ex) || ex.tokenResponse?.refreshToken) return [];
    const authz = ctx.correlation.authorize?.authorize;
    const wanted = !!authz && (authz.scopes?.includes('offline_access') || authz.accessType === 'offline');
    if (!wanted) return [];
    const hint = offlineHint(ex.provider);
    const google = ex.provider === 'google' && authz.accessType === 'offline' && authz.prompt !== 'consent';
    return [{
      code: 'refresh_token.not_issued', severity: 'warning',
      title: 'Offline access requested but no refresh token issued',
      detail: `The authorize request asked for offline access (${authz.scopes?.includes('offline_access') ? 'scope offline_access' : 'access_type=offline'}) but the code exchange returned no refresh_token.${google ? ' Google only returns one when consent is shown: this user had consented before; add prompt=consent.' : ''} ${hint}`,
      fix: hint,
      evidence: { ...baseEvidence(ex), requested_scope: authz.scopeRaw ?? null, access_type: authz.accessType ?? null, prompt: authz.prompt ?? null },
      confidence: 'medium',
      exchangeIds: [ctx.correlation.authorize!.id, ex.id],
    }];
  },
};

export const rules: Rule[] = [excessiveIssuance, reuseOrRace, expiredOrRevoked, notIssued];
