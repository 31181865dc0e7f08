/**
 * §1.9 retry rules (R48 retry.storm, R49 retry.masked_original_failure), family `responses`:
 * repeated identical token requests, and a retry whose invalid_grant hides the first attempt's failure.
 */
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import {
  NON_RETRYABLE, TOKEN_LIKE_KINDS, baseEvidence, errorText, grantRejected, idList, is2xx, requestKey, seconds, unavailableReason,
} from './responses-util.js';

const TOKEN_LIKE: ReadonlySet<string> = new Set(TOKEN_LIKE_KINDS);

function failed(e: AnalyzedExchange): boolean {
  return !!e.transportError || !e.response || !is2xx(e) || !!e.providerError?.error || e.providerError?.slackOk === false;
}

function nonRetryable(e: AnalyzedExchange): boolean {
  const err = e.providerError?.error;
  if (err && NON_RETRYABLE.has(err)) return true;
  const s = e.response?.status;
  return !err && (s === 400 || s === 401 || s === 403) && !e.transportError;
}

const STORM_FIX = 'Classify errors: retry only 5xx, 429 and network failures, with exponential backoff and jitter; on a 4xx stop and surface the error; make callback failures visible instead of restarting the login.';

/**
 * A login loop: the same browser keeps starting logins for the client that never complete. Logins whose
 * flow reached a successful token exchange are left out (a user signing in five times is no loop);
 * those without a callback, with a callback error or a failed token exchange count.
 */
function loginLoop(ex: AnalyzedExchange, ctx: RuleContext) {
  const { count, windowMs } = ctx.thresholds.retryStorm;
  const completed = new Set(ctx.correlation.completedAuthorizeIds ?? []);
  if (completed.has(ex.id)) return [];
  const loop = ctx.correlation.recentAuthorizes.filter((a) => ex.at - a.at <= windowMs && a.clientAddress === ex.clientAddress
    && a.authorize?.clientId === ex.authorize?.clientId && !completed.has(a.id));
  if (loop.length + 1 < count) return [];
  return [{
    code: 'retry.storm' as const, severity: 'error' as const,
    title: `Login loop: ${loop.length + 1} authorize requests for ${ex.authorize?.clientId ?? 'the client'} within ${seconds(ex.at - (loop[0]?.at ?? ex.at))}`,
    detail: `The same browser started ${loop.length + 1} authorization requests for client ${ex.authorize?.clientId ?? '?'} within ${seconds(windowMs)} without reaching a successful token exchange: the callback most likely fails (state/cookie/session) and the app restarts the login, so "the loop repeats forever". Look at the callback responses between them. ${STORM_FIX}`,
    fix: STORM_FIX,
    evidence: { ...baseEvidence(ex), pattern: 'login_loop', attempts: loop.length + 1, window_ms: windowMs, exchanges: idList([...loop.map((a) => a.id), ex.id]) },
    confidence: 'medium' as const,
    exchangeIds: [...loop.map((a) => a.id).slice(-10), ex.id],
  }];
}

/** Entra AADSTS50196: the provider itself detected the loop ("too many of the same request in too short a period"). */
function loopDetected(ex: AnalyzedExchange): FindingDraft {
  return {
    code: 'retry.storm', severity: 'error',
    title: 'Entra detected a request loop (AADSTS50196)',
    detail: `Entra answered ${errorText(ex)}: "The app has made too many of the same request in too short a period". The client repeats the same token request (often no token cache, or a retry loop on a failure). ${STORM_FIX} Cache tokens until they expire.`,
    fix: STORM_FIX,
    evidence: { ...baseEvidence(ex), pattern: 'provider_loop_detected' },
    confidence: 'high',
    exchangeIds: [ex.id],
  };
}

export const retryStorm: Rule = {
  code: 'retry.storm', family: 'responses', severity: 'error', kinds: [...TOKEN_LIKE_KINDS, 'authorize'],
  check(ex, ctx) {
    if (ex.kind === 'authorize') return loginLoop(ex, ctx);
    // Device polling repeats by design (device.polling_violation judges its pace).
    if (ex.grantType?.endsWith(':device_code')) return [];
    const { count, windowMs } = ctx.thresholds.retryStorm;
    if (ex.providerError?.aadsts.includes('50196')) return [loopDetected(ex)];
    const key = requestKey(ex);
    const group: AnalyzedExchange[] = [];
    const earlier = ctx.correlation.sameHostEarlier;
    for (let i = earlier.length - 1; i >= 0; i--) {
      const e = earlier[i]!;
      if (ex.at - e.at > windowMs) break;
      // Cheap fields first: the full key is only built for plausible repeats.
      if (e.grantType === ex.grantType && e.request.url.base === ex.request.url.base && TOKEN_LIKE.has(e.kind) && requestKey(e) === key) group.unshift(e);
    }
    // A retry follows a failure: without a failed previous attempt there is no storm (repeated successes are R50's).
    if (!group.length || !failed(group[group.length - 1]!)) return [];
    const attempts = [...group, ex];
    const earlierFailed = group.filter(failed).length;
    const rejected = attempts.filter(nonRetryable);
    const gaps = attempts.slice(1).map((e, i) => Math.round(e.at - (attempts[i]?.at ?? e.at)));
    const noBackoff = attempts.length >= 4 && earlierFailed === group.length && gaps.every((g, i) => i === 0 || g <= (gaps[i - 1] ?? g));
    let pattern: string | undefined;
    if (rejected.length >= ctx.thresholds.nonRetryableRepeats && nonRetryable(group[group.length - 1]!)) pattern = 'non_retryable_repeated';
    else if (attempts.length >= count && earlierFailed >= count - 1) pattern = 'identical_requests';
    else if (noBackoff) pattern = 'no_backoff';
    if (!pattern) return [];
    const errors = [...new Set(attempts.map((e) => errorText(e)))].slice(0, 5);
    const why: Record<string, string> = {
      non_retryable_repeated: `${rejected.length} identical requests were rejected with a non-retryable error (${errors.join(', ')}); repeating them cannot succeed and, for a code, each attempt may reset provider loop detection (Entra AADSTS50196).`,
      identical_requests: `${attempts.length} identical token requests (same endpoint, grant, credentials${ex.code ? ', code' : ex.refreshToken ? ', refresh token' : ''}) within ${seconds(ex.at - attempts[0]!.at)}, after failures (${errors.join(', ')}).`,
      no_backoff: `${attempts.length} attempts with gaps that do not grow (${gaps.join(', ')} ms): the client retries without backoff.`,
    };
    const ids = attempts.map((e) => e.id);
    return [{
      code: 'retry.storm', severity: 'error',
      title: `Retry storm: ${attempts.length} identical ${ex.grantType ?? ex.kind} requests in ${seconds(ex.at - attempts[0]!.at)}`,
      detail: `${why[pattern]} ${STORM_FIX}`,
      fix: STORM_FIX,
      evidence: { ...baseEvidence(ex), pattern, attempts: attempts.length, window_ms: windowMs, gaps_ms: gaps.slice(-10), errors, exchanges: idList(ids) },
      confidence: 'high',
      exchangeIds: ids.slice(-10),
    }];
  },
};

interface Masking { cause: string; text: string }

function masking(first: AnalyzedExchange, retry: AnalyzedExchange): Masking | undefined {
  const down = unavailableReason(first);
  if (down) return { cause: 'upstream_failure', text: `attempt #1 (${first.id}) failed upstream: ${errorText(first)}` };
  if (first.transportError?.code === 'client_aborted') {
    return { cause: 'client_abort', text: `attempt #1 (${first.id}) was abandoned by the client${first.response ? ` after the AS answered ${first.response.status}` : ''}: the AS ${first.response && is2xx(first) ? 'had already redeemed it' : 'may have redeemed it'}` };
  }
  if (first.response?.shortBody) return { cause: 'short_body', text: `attempt #1 (${first.id}) got a response cut short (fewer bytes than Content-Length), so the client never read the tokens the AS issued` };
  const firstBasic = first.clientAuth.methods.includes('basic');
  const retryBody = retry.clientAuth.methods.includes('post') && !retry.clientAuth.methods.includes('basic');
  if (firstBasic && retryBody && (first.providerError?.error === 'invalid_client' || first.response?.status === 401)) {
    return { cause: 'authstyle_probe', text: `attempt #1 (${first.id}) sent HTTP Basic and got ${errorText(first)}; the retry switched to body credentials (Go x/oauth2 auth-style auto-detection returns only the second error)` };
  }
  return undefined;
}

export const maskedFailure: Rule = {
  code: 'retry.masked_original_failure', family: 'responses', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    if (!grantRejected(ex)) return [];
    const earlier = ex.code ? ctx.correlation.sameCodeEarlier : ex.refreshToken ? ctx.correlation.sameRefreshEarlier : [];
    for (const first of [...earlier].reverse()) {
      const m = masking(first, ex);
      if (!m) continue;
      const what = ex.code ? 'authorization code' : 'refresh token';
      const fix = m.cause === 'authstyle_probe'
        ? 'Set the client authentication style explicitly (Basic or body, as registered) so the client makes one attempt; fix the rejected credentials.'
        : `Fix the first failure; make the ${what} exchange single-shot (a retried ${what} is usually consumed already) and restart the flow instead of retrying.`;
      return [{
        code: 'retry.masked_original_failure', severity: 'error',
        title: `Retry got ${errorText(ex)}; the real failure was attempt #1 (${m.cause.replace(/_/g, ' ')})`.slice(0, 200),
        detail: `This request reused the ${what} of an earlier attempt and got ${errorText(ex)}. The cause is earlier: ${m.text}. The ${what} was consumed (or rotated) by that first attempt, so the retry could never succeed, and the error the application reports hides the original one. ${fix}`,
        fix,
        evidence: {
          ...baseEvidence(ex), cause: m.cause, first_attempt: { ...baseEvidence(first) }, retry_delay_ms: Math.round(ex.at - first.at),
          ...(ex.code ? { code: ex.code.display } : ex.refreshToken ? { refresh_token: ex.refreshToken.display } : {}),
        },
        confidence: 'high',
        exchangeIds: [first.id, ex.id],
      }];
    }
    return [];
  },
};
