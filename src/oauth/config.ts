/**
 * The optional JSON config (`--config FILE`): known clients, extra token endpoints and thresholds.
 * Validation (unknown keys rejected, errors naming the key) lives in config-validate.ts.
 */

export interface ClientConfig {
  /** Environment / registration label, e.g. `prod`, `staging`. */
  name: string;
  clientId: string;
  /** Registered redirect URIs, byte-exact. */
  redirectUris?: string[];
  /** Scopes the client may request. */
  scopes?: string[];
  /** Lower-case hex SHA-256 of each valid client secret of this registration. */
  secretSha256?: string[];
  /** Registered token_endpoint_auth_method. */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'client_secret_jwt' | 'none';
  /** public | confidential | spa. */
  type?: 'public' | 'confidential' | 'spa';
  /** Issuer / token host this registration belongs to (for env mismatch), e.g. `https://idp.example.com`. */
  issuer?: string;
}

export interface Thresholds {
  /** Authorization-code lifetime (§0.5; RFC 6749 recommends 10 min). */
  codeMaxAgeMs: number;
  /** Code exchanged later than this after the callback → `code.expired#slow_exchange`. */
  slowExchangeMs: number;
  clockSkewWarnMs: number;
  clockSkewErrorMs: number;
  /** ≥count identical-fingerprint token requests within windowMs → `retry.storm`. */
  retryStorm: { count: number; windowMs: number };
  /** ≥this many repeats of a non-retryable 4xx → `retry.storm`. */
  nonRetryableRepeats: number;
  /** Two refreshes with one token starting this close → concurrent. */
  concurrentRefreshMs: number;
  /** More than this many tokens per (client, scope) inside one expires_in → over-issuance. */
  overIssuanceCount: number;
  /** Callback with a code and no token exchange within this → capture gap (R69). */
  captureGapMs: number;
  stateMaxLength: number;
  authorizeUrlWarnBytes: number;
  authorizeUrlErrorBytes: number;
  /** Fraction of failed token exchanges (per host) that raises an alert. */
  failureRateAlert: number;
  /** Provider outage aggregation (R46 #outage). */
  outage: { count: number; windowMs: number };
  /** Redirect follow-up window (R40). */
  redirectFollowMs: number;
  /** Authorize → callback correlation window (§0.2 fallback). */
  authorizeWindowMs: number;
  /** Callback → token correlation fallback window (§0.2). */
  callbackToTokenMs: number;
  /** Refresh tokens remembered this long after supersession (§4.5). */
  refreshTokenRetentionMs: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  codeMaxAgeMs: 600_000,
  slowExchangeMs: 60_000,
  clockSkewWarnMs: 30_000,
  clockSkewErrorMs: 300_000,
  retryStorm: { count: 5, windowMs: 60_000 },
  nonRetryableRepeats: 3,
  concurrentRefreshMs: 2_000,
  overIssuanceCount: 3,
  captureGapMs: 30_000,
  stateMaxLength: 500,
  authorizeUrlWarnBytes: 2_048,
  authorizeUrlErrorBytes: 8_192,
  failureRateAlert: 0.05,
  outage: { count: 3, windowMs: 300_000 },
  redirectFollowMs: 2_000,
  authorizeWindowMs: 900_000,
  callbackToTokenMs: 60_000,
  refreshTokenRetentionMs: 24 * 3_600_000,
};

export interface LensConfig {
  clients: ClientConfig[];
  /** Absolute URLs (scheme://host[:port]/path) treated as token endpoints. */
  tokenEndpoints: string[];
  thresholds: Thresholds;
}

export const EMPTY_CONFIG: LensConfig = { clients: [], tokenEndpoints: [], thresholds: DEFAULT_THRESHOLDS };
