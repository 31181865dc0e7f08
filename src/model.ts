/**
 * The one vocabulary after the redaction boundary: what the store holds, the feed and API send,
 * HAR export writes and the viewers render. Nothing here may carry a raw secret.
 * Only src/oauth/redact.ts mints `Redacted<…>` values.
 */
import type { RawHeaders, Timings, TlsFacts, TransportError } from './capture/types.js';

export type { RawHeaders, Timings, TlsFacts, TransportError };

export const EXCHANGE_KINDS = [
  'token', 'authorize', 'authorize_response', 'discovery', 'jwks', 'userinfo',
  'introspection', 'revocation', 'device_authorization', 'par', 'other',
] as const;
export type ExchangeKind = (typeof EXCHANGE_KINDS)[number];

export type Severity = 'error' | 'warning' | 'info';
export type Confidence = 'high' | 'medium' | 'low';

declare const redactedBrand: unique symbol;
/** A value that has passed the redaction boundary. */
export type Redacted<T> = T & { readonly [redactedBrand]: true };

export interface Finding {
  /** Stable code from oauth-rules.md (e.g. `redirect_uri.trailing_slash`), or `grant_type.params_mismatch`. */
  code: string;
  severity: Severity;
  title: string;
  /** Why it failed and how to fix it, with the provider-specific hint where one applies. */
  detail: string;
  /** Short remediation, also contained in `detail`. */
  fix?: string;
  /** Redacted facts: values, diffs, fingerprints, Δt, provider error text, trace ids. */
  evidence?: Record<string, unknown>;
  confidence: Confidence;
  /** Exchanges the finding used, oldest first; the last one is where it is attached. */
  exchangeIds: string[];
  flowId?: string;
  /** True for the one finding chosen by §0.7 on an exchange; the others are contributing. */
  primary: boolean;
}

/** A decoded, redacted body. */
export interface BodyView {
  /** Size on the wire (compressed, full even if truncated). */
  size: number;
  truncated: boolean;
  mimeType?: string;
  /** Content-Encoding the body travelled with (gzip, br, deflate), if any. */
  encoding?: string;
  /** Decoded text with every secret replaced; absent for binary bodies. */
  text?: string;
  /** Form parameters (redacted), in order with duplicates, when the body is x-www-form-urlencoded. */
  form?: Array<[name: string, value: string]>;
  /** Parsed JSON (redacted), when the body is JSON. */
  json?: unknown;
  decodeError?: string;
}

export interface DecodedJwt {
  /** Where it was found: `response.id_token`, `request.client_assertion`, `header.authorization` … */
  location: string;
  header: Record<string, unknown>;
  /** Allow-listed claims only (oauth-rules.md §4.3). */
  claims: Record<string, unknown>;
  error?: string;
}

export interface OAuthView {
  kind: ExchangeKind;
  /** grant_type of a token request. */
  grantType?: string;
  flowId?: string;
  clientId?: string;
  /** Recognised provider (google, entra, github, …) or the issuer host. */
  provider?: string;
  /** Normalised provider error (oauth-rules.md §0.6). */
  providerError?: Record<string, unknown>;
  jwts?: DecodedJwt[];
  findings: Finding[];
}

export interface Exchange {
  id: string;
  /** Monotonic insertion number in the store. */
  seq: number;
  timings: Timings;
  clientAddress?: string;
  connectTarget?: string;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    headers: RawHeaders;
    body: BodyView;
  };
  response?: {
    status: number;
    statusText: string;
    httpVersion: string;
    headers: RawHeaders;
    body: BodyView;
  };
  tls?: TlsFacts;
  error?: TransportError;
  oauth: OAuthView;
}
