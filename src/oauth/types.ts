/**
 * The analysed facts rules see for one exchange. Everything here is already past the redaction
 * boundary: a secret appears only as a `SecretRef` (length, fingerprints, anomalies), never as
 * its value. Class C values (client_id, redirect_uri, scope, grant_type, code_challenge, error
 * text, trace ids) are kept verbatim because they are the evidence users need.
 */
import type { DecodedJwt, ExchangeKind, RawHeaders, Timings, TlsFacts, TransportError } from '../model.js';

export type { DecodedJwt, ExchangeKind, RawHeaders, Timings, TlsFacts, TransportError };

/** What is wrong with a credential-like value as the AS received it (oauth-rules.md R11). */
export type ValueAnomaly =
  | 'empty'
  | 'leading_whitespace'
  | 'trailing_whitespace'
  | 'cr_lf'
  | 'tab'
  | 'nul'
  | 'quotes'
  | 'placeholder'
  | 'literal'
  | 'non_ascii';

/**
 * A secret replaced by facts. `fp` = first 16 bytes (32 hex) of HMAC-SHA256(installKey, kind \0 value);
 * `display` shows the first 12 hex, as every sink does. Equal values of the same kind have equal fps.
 */
export interface SecretRef {
  readonly redacted: true;
  /** Fingerprint kind (§4.4): client_secret, code, code_verifier, refresh_token, access_token, state, cookie:<name> … */
  kind: string;
  /** Parameter / field / header name it was found under. */
  name: string;
  /** Length in characters of the value as the AS received it (after exactly one decode). */
  length: number;
  fp: string;
  /** fp of the value with surrounding whitespace and wrapping quotes removed (R11). Equal to `fp` when nothing was trimmed. */
  trimmedFp: string;
  anomalies: ValueAnomaly[];
  /** Non-secret shape: charset class (`base64url`, `hex`, `alnum`, `printable`, `binary`), documented prefix (`gho_`, `ya29.`, `4/`, `1//`, `xoxb-`), `jwt:<alg>`. */
  shape: string;
  /** Class B values (state, nonce, jti, session_state …): first 6 characters, shown on purpose (§4.1). */
  prefix?: string;
  /** `[REDACTED name len=N fp=XXXXXXXXXXXX shape]` — what sinks print in place of the value. */
  display: string;
  /**
   * fps (same kind) of the value after one transform (codes and state), so R18/R28 can prove "equal after one transform"
   * without the value: `decoded` (one more percent-decode), `encoded` (percent-encoded once),
   * `plus_as_space`, `trimmed`, `unquoted`; and `as_state` (fp under kind `state`, to spot the state sent as code).
   */
  variants?: Partial<Record<'decoded' | 'encoded' | 'plus_as_space' | 'trimmed' | 'unquoted' | 'as_state', string>>;
  /** client_secret only: configured clients whose `secretSha256` matches this value (raw or trimmed). */
  registeredAs?: Array<{ client: string; clientId: string; trimmed: boolean }>;
}

export type ParamValue = string | SecretRef;

/** One parameter, in wire order, duplicates kept, decoded exactly once. */
export interface Param {
  name: string;
  value: ParamValue;
}

export interface UrlParts {
  scheme: 'http' | 'https' | string;
  /** Lower-case host without port; IPv6 without brackets. */
  host: string;
  /** Effective port (443/80 when implicit). */
  port: number;
  explicitPort: boolean;
  path: string;
  /** Redacted absolute URL (secrets in query/fragment replaced by display markers). */
  href: string;
  /** scheme://host[:port]/path — no query, no fragment; safe to show. */
  base: string;
  isLoopback: boolean;
}

export type BodyFormat = 'empty' | 'form' | 'json' | 'html' | 'xml' | 'text' | 'multipart' | 'binary';

export interface SetCookieFacts {
  name: string;
  valueRef: SecretRef;
  /** Attribute names lower-cased with their values (`samesite` → `Lax`, `secure` → ''). */
  attributes: Record<string, string>;
}

export interface RequestFacts {
  method: string;
  url: UrlParts;
  query: Param[];
  fragment: Param[];
  /** Redacted headers in wire order. */
  headers: RawHeaders;
  /** Content-Type media type lower-cased without parameters. */
  contentType?: string;
  /** Declared Content-Length, when sent. */
  contentLength?: number;
  bodyFormat: BodyFormat;
  bodySize: number;
  /** Form parameters (x-www-form-urlencoded, or a body that parses as one), exactly one decode. */
  form?: Param[];
  /** Parsed JSON body, redacted (secret values are display markers); set for OAuth kinds only. */
  json?: unknown;
  /** Top-level keys of a JSON object body (R37 evidence). */
  jsonKeys?: string[];
  /** Cookie names sent (values never). */
  cookieNames: string[];
  origin?: string;
  secFetchSite?: string;
  /** Referer, redacted. */
  referer?: string;
  accept?: string;
  userAgent?: string;
  /** Via / Forwarded present on the request reaching the lens (R68 #upstream_of_lens). */
  via?: string;
  forwarded?: string;
  /** Authorization scheme as sent (`Basic`, `Bearer`, `DPoP`, …); value is in `clientAuth` or `bearer`. */
  authorizationScheme?: string;
  /** Bearer/DPoP token presented to a resource (R61). */
  bearer?: SecretRef;
  /**
   * fps of the presented token under the kinds `id_token` and `refresh_token` (computed before redaction),
   * so R61 can tell an id_token or refresh token sent as a bearer from the fps of issued tokens.
   */
  bearerAs?: { idToken: string; refreshToken: string };
  /** The token itself starts with the scheme again (`Bearer Bearer …`, R61). */
  bearerDoubleScheme?: boolean;
}

export interface BasicAuthFacts {
  /** The header decoded as base64 without error. */
  validBase64: boolean;
  hasColon: boolean;
  /** Username after base64 decode and one form-decode (what a conforming AS reads). Class C. */
  clientId?: string;
  /** Username exactly as it appeared after base64 decode, before form-decoding. */
  rawClientId?: string;
  clientIdAnomalies: ValueAnomaly[];
  /** Password after base64 decode and one form-decode. */
  secret?: SecretRef;
  /** Decoded components contain characters a conforming AS changes by form-decoding (`+ % & = :` space, non-ASCII) (R13b). */
  needsFormEncoding: boolean;
  /** Components contain `%XX` sequences, i.e. they were form-encoded before joining (R13c). */
  looksFormEncoded: boolean;
}

export type ClientAuthMethod = 'basic' | 'post' | 'jwt' | 'none';

export interface ClientAuthFacts {
  /** Mechanisms present in the request; `['none']` when there are none. */
  methods: ClientAuthMethod[];
  basic?: BasicAuthFacts;
  /** Body/query client_id (Class C). */
  bodyClientId?: string;
  bodyClientIdAnomalies: ValueAnomaly[];
  clientSecret?: SecretRef;
  clientAssertionType?: string;
  clientAssertion?: SecretRef;
  /** Decoded client_assertion (or a client_secret that is a JWT, as Apple's). */
  assertionJwt?: DecodedJwt;
}

export interface PkceFacts {
  codeChallenge?: string;
  /** As sent; absent when the parameter was omitted. */
  codeChallengeMethod?: string;
  /** Challenge is 43 base64url characters (valid S256 form). */
  challengeWellFormed?: boolean;
  verifier?: SecretRef;
  verifierLength?: number;
  /** Verifier only uses [A-Za-z0-9-._~]. */
  verifierCharsetValid?: boolean;
  /** BASE64URL(SHA256(verifier)) — public by design: it is what the challenge must equal. */
  verifierS256?: string;
  /** hex(SHA256(verifier)), std base64 with padding, and S256 applied twice — for R33 transforms. */
  verifierS256Hex?: string;
  verifierS256StdBase64?: string;
  verifierDoubleS256?: string;
  /** HMAC fp of the verifier under kind `pkce_plain`; the authorize side stores the challenge under the same kind, so `plain` equality compares fps. */
  verifierPlainFp?: string;
  /** Same kind as `verifierPlainFp`, on the authorize side. */
  challengePlainFp?: string;
}

export interface WwwAuthenticate {
  scheme: string;
  params: Record<string, string>;
}

/** Normalised provider error (oauth-rules.md §0.6). */
export interface ProviderError {
  error?: string;
  errorDescription?: string;
  errorUri?: string;
  errorSubtype?: string;
  /** Entra `error_codes[]` and `AADSTS\d+` found in the description, as numbers in text form (`'50011'`). */
  aadsts: string[];
  traceId?: string;
  correlationId?: string;
  timestamp?: string;
  /** Slack: `ok` was false. */
  slackOk?: false;
  facebook?: { message?: string; type?: string; code?: number; subcode?: number; fbtraceId?: string };
  /** GitHub-style error inside an HTTP 200 (form or JSON). */
  errorIn2xx?: boolean;
  htmlTitle?: string;
  htmlExcerpt?: string;
  wwwAuthenticate: WwwAuthenticate[];
  retryAfter?: { raw: string; seconds?: number; until?: number };
  /** Rate-limit headers by lower-cased name (`x-ratelimit-remaining`, `x-rate-limit-reset`, …). */
  rateLimit?: Record<string, string>;
  /** Where the error was found. */
  source: 'json' | 'form' | 'html' | 'header' | 'query' | 'fragment' | 'none';
}

export interface IssuedToken {
  name: string;
  ref: SecretRef;
  jwt?: DecodedJwt;
}

export interface TokenResponseFacts {
  accessToken?: IssuedToken;
  refreshToken?: IssuedToken;
  idToken?: IssuedToken;
  /** Any other issued secret (issued_token, device_code, nested Slack authed_user.access_token …). */
  otherTokens: IssuedToken[];
  tokenType?: string;
  /** expires_in as sent (number, or string as Entra sometimes does). */
  expiresIn?: number | string;
  scopeRaw?: string;
  scopes?: string[];
  /** Device flow response. */
  interval?: number;
  /** Introspection `active`. */
  active?: boolean;
}

export interface ResponseFacts {
  status: number;
  statusText: string;
  headers: RawHeaders;
  contentType?: string;
  contentLength?: number;
  bodyFormat: BodyFormat;
  bodySize: number;
  truncated: boolean;
  encoding?: string;
  decodeError?: string;
  /** Parsed JSON body, redacted (secret values are display markers); set for OAuth kinds only. */
  json?: unknown;
  form?: Param[];
  htmlTitle?: string;
  htmlExcerpt?: string;
  /** Redacted Location. */
  location?: string;
  cacheControl?: string;
  pragma?: string;
  date?: number;
  server?: string;
  via?: string;
  setCookies: SetCookieFacts[];
  /** Response body shorter than its Content-Length (R68/R49). */
  shortBody: boolean;
}

/** Parameters of an authorization request (kind `authorize`). */
export interface AuthorizeFacts {
  responseType?: string;
  responseMode?: string;
  clientId?: string;
  redirectUri?: string;
  scopeRaw?: string;
  scopes?: string[];
  state?: SecretRef;
  nonce?: SecretRef;
  requestUri?: SecretRef;
  prompt?: string;
  accessType?: string;
  /** Length of the full authorize URL (R30). */
  urlLength: number;
  /** Parameters came from the query (GET) or a form (POST). */
  via: 'query' | 'form';
}

/** The authorization response seen by the lens: a redirect Location, a form_post page, or a callback request. */
export interface AuthorizeResponseFacts {
  via: 'location_query' | 'location_fragment' | 'form_post' | 'callback_query' | 'callback_form';
  /** scheme://host[:port]/path the response goes to (the redirect_uri without query). */
  target: string;
  code?: SecretRef;
  state?: SecretRef;
  iss?: string;
  sessionState?: SecretRef;
  error?: string;
  errorDescription?: string;
  errorUri?: string;
  params: Param[];
}

/** Discovery metadata learned from an observed discovery document (§2.3). */
export interface DiscoveryMetadata {
  issuer: string;
  /** URL the document was fetched from. */
  documentUrl: string;
  exchangeId: string;
  at: number;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
  jwksUri?: string;
  revocationEndpoint?: string;
  introspectionEndpoint?: string;
  deviceAuthorizationEndpoint?: string;
  parEndpoint?: string;
  requirePar?: boolean;
  tokenEndpointAuthMethods?: string[];
  grantTypes?: string[];
  responseTypes?: string[];
  responseModes?: string[];
  scopes?: string[];
  codeChallengeMethods?: string[];
  idTokenSigningAlgs?: string[];
  issParameterSupported?: boolean;
  mtlsAliases?: Record<string, string>;
}

/** How the kind was decided (§3: order of trust). */
export type Recognition = 'discovery' | 'known_provider' | 'config' | 'heuristic' | 'probable' | 'shape' | 'none';

/** Where a secret was seen; URL places feed R70. */
export type SecretPlace =
  | 'request.query'
  | 'request.fragment'
  | 'request.form'
  | 'request.json'
  | 'request.header'
  | 'request.cookie'
  | 'request.referer'
  | 'response.location'
  | 'response.content_location'
  | 'response.form'
  | 'response.json'
  | 'response.html'
  | 'response.header'
  | 'response.set_cookie';

export interface SecretOccurrence {
  place: SecretPlace;
  name: string;
  ref: SecretRef;
}

/** Everything rules see about one exchange. Immutable, redacted. */
export interface AnalyzedExchange {
  id: string;
  seq: number;
  /** Exchange start (epoch ms); rules use this and `RuleContext.now`, never the clock. */
  at: number;
  timings: Timings;
  kind: ExchangeKind;
  recognition: Recognition;
  /** §3.1 score for token recognition (0 when not scored). */
  tokenScore: number;
  /** Recognised provider id (`google`, `entra`, `github`, `auth0`, `okta`, `keycloak`, `cognito`, `slack`, `facebook`, `apple`, `salesforce`) or undefined. */
  provider?: string;
  /** Issuer when known (discovery or provider pattern), else scheme://host. */
  issuer: string;
  request: RequestFacts;
  response?: ResponseFacts;
  transportError?: TransportError;
  tls?: TlsFacts;
  clientAddress?: string;
  /** The OAuth parameter set: token-like requests → form body (or JSON object entries), authorize → query/form. */
  params: Param[];
  grantType?: string;
  /** Effective client identity: body client_id, else Basic username, else assertion `sub`. */
  clientId?: string;
  clientAuth: ClientAuthFacts;
  pkce: PkceFacts;
  redirectUri?: string;
  scopeRaw?: string;
  scopes?: string[];
  /** Secrets of a token/revocation/introspection request. */
  code?: SecretRef;
  refreshToken?: SecretRef;
  deviceCode?: SecretRef;
  /** RFC 7009/7662 `token` parameter. */
  token?: SecretRef;
  tokenTypeHint?: string;
  authorize?: AuthorizeFacts;
  authorizeResponse?: AuthorizeResponseFacts;
  providerError?: ProviderError;
  tokenResponse?: TokenResponseFacts;
  /** Discovery document, when this exchange is one. */
  discovery?: DiscoveryMetadata;
  /** JWKS `kid`s, when this exchange is a JWKS response. */
  jwksKids?: string[];
  /** All decoded JWTs, request and response (header + allow-listed claims only). */
  jwts: DecodedJwt[];
  /** Every secret seen, by place. */
  secrets: SecretOccurrence[];
}
