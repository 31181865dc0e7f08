/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as oauth-lens writes it, plus the
 * `_oauthLens` entry extension from the public interface. Readers of foreign HARs use the loose
 * `ForeignHar*` shapes in from-har.ts instead: other tools omit and add fields freely.
 */
import type { DecodedJwt, ExchangeKind, Severity } from '../model.js';

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarCookie extends HarNameValue {
  path?: string;
  domain?: string;
  expires?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: string;
}

export interface HarPostData {
  mimeType: string;
  text?: string;
  params?: HarNameValue[];
  comment?: string;
}

export interface HarRequest {
  method: string;
  url: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  queryString: HarNameValue[];
  postData?: HarPostData;
  headersSize: number;
  bodySize: number;
  comment?: string;
}

export interface HarContent {
  size: number;
  compression?: number;
  mimeType: string;
  text?: string;
  encoding?: string;
  comment?: string;
}

export interface HarResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  content: HarContent;
  redirectURL: string;
  headersSize: number;
  bodySize: number;
  comment?: string;
  /** Transport failure (status 0), as Chrome and mitmproxy write it. */
  _error?: string;
}

export interface HarTimings {
  blocked: number;
  dns: number;
  connect: number;
  ssl: number;
  send: number;
  wait: number;
  receive: number;
}

export interface HarFinding {
  code: string;
  severity: Severity;
  title: string;
  detail: string;
  evidence?: Record<string, unknown>;
  fix?: string;
  confidence?: string;
  primary?: boolean;
  exchangeIds?: string[];
}

export interface HarOAuthLens {
  kind: ExchangeKind;
  flowId?: string;
  /** The exchange id in the store that exported it (stable inside one file). */
  exchangeId: string;
  grantType?: string;
  clientId?: string;
  provider?: string;
  providerError?: Record<string, unknown>;
  /** Decoded JWTs (header and allow-listed claims only). */
  jwts?: DecodedJwt[];
  /** Transport failure code and message, when the exchange never got a response. */
  error?: { code: string; message: string; nodeCode?: string };
  findings: HarFinding[];
}

export interface HarEntry {
  pageref?: string;
  startedDateTime: string;
  time: number;
  request: HarRequest;
  response: HarResponse;
  cache: Record<string, never>;
  timings: HarTimings;
  serverIPAddress?: string;
  connection?: string;
  comment?: string;
  _oauthLens: HarOAuthLens;
}

export interface HarPage {
  startedDateTime: string;
  id: string;
  title: string;
  pageTimings: { onContentLoad?: number; onLoad?: number };
}

export interface HarLog {
  version: '1.2';
  creator: { name: string; version: string; comment?: string };
  pages?: HarPage[];
  entries: HarEntry[];
  comment?: string;
}

export interface Har {
  log: HarLog;
}
