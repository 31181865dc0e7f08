/**
 * Validates the JSON config: every error names the key path and the reason; unknown keys are
 * rejected (a typo such as `redirectUri` must not silently disable a rule).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_THRESHOLDS, type ClientConfig, type LensConfig, type Thresholds } from './config.js';

export class ConfigError extends Error {
  readonly code = 'OAL_ERR_CONFIG';
  constructor(readonly problems: string[], readonly file?: string) {
    super(`${file ? `${file}: ` : ''}invalid config: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt', 'none'] as const;
const CLIENT_TYPES = ['public', 'confidential', 'spa'] as const;

class Checker {
  problems: string[] = [];
  fail(path: string, reason: string): void {
    this.problems.push(`${path}: ${reason}`);
  }
  keys(path: string, obj: Obj, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail(path ? `${path}.${key}` : key, `unknown key (allowed: ${allowed.join(', ')})`);
    }
  }
  string(path: string, v: unknown, required: boolean): string | undefined {
    if (v === undefined) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(path, 'must be a non-empty string');
      return undefined;
    }
    if (v !== v.trim()) this.fail(path, 'has leading or trailing whitespace');
    return v;
  }
  strings(path: string, v: unknown, each?: (p: string, s: string) => void): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.fail(path, 'must be an array of strings');
      return undefined;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      const s = this.string(`${path}[${i}]`, item, true);
      if (s !== undefined) {
        each?.(`${path}[${i}]`, s);
        out.push(s);
      }
    });
    return out;
  }
  number(path: string, v: unknown, min: number, max: number, fallback: number): number {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(path, 'must be a number');
      return fallback;
    }
    if (v < min || v > max) this.fail(path, `must be between ${min} and ${max}`);
    return v;
  }
  oneOf<T extends string>(path: string, v: unknown, values: readonly T[]): T | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.fail(path, `must be one of ${values.join(', ')}`);
      return undefined;
    }
    return v as T;
  }
}

function absoluteUrl(c: Checker, path: string, s: string): void {
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:' && !/^[a-z][a-z0-9+.-]*:$/i.test(u.protocol)) c.fail(path, 'must be an absolute URL');
  } catch {
    c.fail(path, 'must be an absolute URL');
  }
}

function client(c: Checker, path: string, v: unknown): ClientConfig | undefined {
  if (!isObj(v)) {
    c.fail(path, 'must be an object');
    return undefined;
  }
  c.keys(path, v, ['name', 'clientId', 'redirectUris', 'scopes', 'secretSha256', 'authMethod', 'type', 'issuer']);
  const name = c.string(`${path}.name`, v.name, true);
  const clientId = c.string(`${path}.clientId`, v.clientId, true);
  const redirectUris = c.strings(`${path}.redirectUris`, v.redirectUris, (p, s) => absoluteUrl(c, p, s));
  const scopes = c.strings(`${path}.scopes`, v.scopes, (p, s) => {
    if (/\s/.test(s)) c.fail(p, 'must be one scope without spaces');
  });
  const secretSha256 = c.strings(`${path}.secretSha256`, v.secretSha256, (p, s) => {
    if (!/^[0-9a-fA-F]{64}$/.test(s)) c.fail(p, 'must be 64 hex characters (SHA-256 of the client secret, e.g. `printf %s "$SECRET" | sha256sum`)');
  })?.map((s) => s.toLowerCase());
  const authMethod = c.oneOf(`${path}.authMethod`, v.authMethod, AUTH_METHODS);
  const type = c.oneOf(`${path}.type`, v.type, CLIENT_TYPES);
  const issuer = c.string(`${path}.issuer`, v.issuer, false);
  if (issuer) absoluteUrl(c, `${path}.issuer`, issuer);
  if (name === undefined || clientId === undefined) return undefined;
  return {
    name, clientId,
    ...(redirectUris ? { redirectUris } : {}),
    ...(scopes ? { scopes } : {}),
    ...(secretSha256 ? { secretSha256 } : {}),
    ...(authMethod ? { authMethod } : {}),
    ...(type ? { type } : {}),
    ...(issuer ? { issuer } : {}),
  };
}

const DAY = 86_400_000;

function thresholds(c: Checker, v: unknown): Thresholds {
  const d = DEFAULT_THRESHOLDS;
  if (v === undefined) return d;
  if (!isObj(v)) {
    c.fail('thresholds', 'must be an object');
    return d;
  }
  c.keys('thresholds', v, Object.keys(d));
  const pair = (key: 'retryStorm' | 'outage'): { count: number; windowMs: number } => {
    const raw = v[key];
    if (raw === undefined) return d[key];
    if (!isObj(raw)) {
      c.fail(`thresholds.${key}`, 'must be an object { count, windowMs }');
      return d[key];
    }
    c.keys(`thresholds.${key}`, raw, ['count', 'windowMs']);
    return {
      count: Math.round(c.number(`thresholds.${key}.count`, raw.count, 2, 10_000, d[key].count)),
      windowMs: c.number(`thresholds.${key}.windowMs`, raw.windowMs, 1, DAY, d[key].windowMs),
    };
  };
  const ms = (key: keyof Thresholds, max = DAY) => c.number(`thresholds.${key}`, v[key], 0, max, d[key] as number);
  return {
    codeMaxAgeMs: ms('codeMaxAgeMs'),
    slowExchangeMs: ms('slowExchangeMs'),
    clockSkewWarnMs: ms('clockSkewWarnMs'),
    clockSkewErrorMs: ms('clockSkewErrorMs'),
    retryStorm: pair('retryStorm'),
    nonRetryableRepeats: c.number('thresholds.nonRetryableRepeats', v.nonRetryableRepeats, 2, 10_000, d.nonRetryableRepeats),
    concurrentRefreshMs: ms('concurrentRefreshMs'),
    overIssuanceCount: c.number('thresholds.overIssuanceCount', v.overIssuanceCount, 1, 10_000, d.overIssuanceCount),
    captureGapMs: ms('captureGapMs'),
    stateMaxLength: c.number('thresholds.stateMaxLength', v.stateMaxLength, 1, 1_000_000, d.stateMaxLength),
    authorizeUrlWarnBytes: c.number('thresholds.authorizeUrlWarnBytes', v.authorizeUrlWarnBytes, 1, 10_000_000, d.authorizeUrlWarnBytes),
    authorizeUrlErrorBytes: c.number('thresholds.authorizeUrlErrorBytes', v.authorizeUrlErrorBytes, 1, 10_000_000, d.authorizeUrlErrorBytes),
    failureRateAlert: c.number('thresholds.failureRateAlert', v.failureRateAlert, 0, 1, d.failureRateAlert),
    outage: pair('outage'),
    redirectFollowMs: ms('redirectFollowMs'),
    authorizeWindowMs: ms('authorizeWindowMs'),
    callbackToTokenMs: ms('callbackToTokenMs'),
    refreshTokenRetentionMs: ms('refreshTokenRetentionMs', 90 * DAY),
  };
}

/** Validates a parsed JSON value; throws ConfigError listing every problem. */
export function parseConfig(value: unknown, file?: string): LensConfig {
  const c = new Checker();
  if (!isObj(value)) throw new ConfigError(['(root): must be a JSON object'], file);
  c.keys('', value, ['clients', 'tokenEndpoints', 'thresholds', '$schema']);
  const clients: ClientConfig[] = [];
  if (value.clients !== undefined) {
    if (!Array.isArray(value.clients)) c.fail('clients', 'must be an array');
    else value.clients.forEach((v, i) => {
      const parsed = client(c, `clients[${i}]`, v);
      if (parsed) clients.push(parsed);
    });
  }
  const names = new Set<string>();
  clients.forEach((cl, i) => {
    if (names.has(cl.name)) c.fail(`clients[${i}].name`, `duplicate name "${cl.name}"`);
    names.add(cl.name);
  });
  const tokenEndpoints = c.strings('tokenEndpoints', value.tokenEndpoints, (p, s) => absoluteUrl(c, p, s)) ?? [];
  const t = thresholds(c, value.thresholds);
  if (t.clockSkewErrorMs < t.clockSkewWarnMs) c.fail('thresholds.clockSkewErrorMs', 'must be ≥ clockSkewWarnMs');
  if (t.authorizeUrlErrorBytes < t.authorizeUrlWarnBytes) c.fail('thresholds.authorizeUrlErrorBytes', 'must be ≥ authorizeUrlWarnBytes');
  if (c.problems.length) throw new ConfigError(c.problems, file);
  return { clients, tokenEndpoints, thresholds: t };
}

/** Reads and validates a config file. */
export function loadConfigFile(path: string): LensConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`], path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`not valid JSON (${(err as Error).message})`], path);
  }
  return parseConfig(json, path);
}
