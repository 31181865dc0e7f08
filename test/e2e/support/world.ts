/**
 * One end-to-end world per test file: the shared oidc-provider IdP (HTTPS, PKCE required), extra
 * loopback servers (a small non-IdP token endpoint, an untrusted TLS server), and one complete
 * in-process oauth-lens session (proxy → engine → store) with a config naming the prod and staging
 * registrations. Scenarios run their clients through the proxy and read what a user would see:
 * the redacted exchanges in the store, and the log lines.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { exchangesToHar } from '../../../src/har/har.js';
import { exchangeToCurl } from '../../../src/har/curl.js';
import { createLogger } from '../../../src/log.js';
import type { Exchange, Finding, Redacted } from '../../../src/model.js';
import { DEFAULT_THRESHOLDS, type LensConfig } from '../../../src/oauth/config.js';
import { startSession, type Session } from '../../../src/session.js';
import { startIdp, type StartedIdp } from '../../support/idp.js';
import { startSideServers, type SideServers } from './side-servers.js';

export type StoredExchange = Redacted<Exchange>;

/** RFC 6749 §2.3.1 Basic value (form-encoded id and secret). */
export function basicAuth(id: string, secret: string): string {
  return Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A secret of the staging registration of the same app (never valid at this IdP). */
export const STAGING_SECRET = 'staging-secret-9f2c41d7a0b84e6e';

export interface World {
  idp: StartedIdp;
  side: SideServers;
  session: Session;
  proxyUrl: string;
  /** PEM path of the lens CA (what clients must trust). */
  lensCaPath: string;
  logLines: string[];
  /** Every secret a scenario handled; none may appear in the store or logs. */
  secrets: Set<string>;
  remember(...values: Array<string | undefined>): void;
  /** Sequence number to pass to `since` (exchanges stored after this point). */
  mark(): number;
  /** Waits until `count` exchanges matching `pred` were stored after `mark`, and returns them in order. */
  since(mark: number, count: number, pred?: (e: StoredExchange) => boolean): Promise<StoredExchange[]>;
  /** The current stored version of an exchange (findings change when later exchanges arrive). */
  current(id: string): StoredExchange;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  // Secrets with the characters form-encoding changes in Basic (RFC 6749 §2.3.1: openid-client sends
  // "-" as %2D), so every run exercises that path instead of one run in three by chance.
  const idp = await startIdp({ clientSecrets: { confidential: `${randomBytes(18).toString('base64url')}-_.~`, machine: `${randomBytes(18).toString('base64url')}~-_` } });
  const side = await startSideServers();
  const dir = mkdtempSync(join(tmpdir(), 'oal-e2e-'));
  const idpCa = join(dir, 'idp-ca.pem');
  const sideCa = join(dir, 'side-ca.pem');
  writeFileSync(idpCa, idp.caPem);
  writeFileSync(sideCa, side.trustedCaPem);
  const logLines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
  const session = await startSession({
    port: 0,
    uiPort: false,
    certsDir: join(dir, 'certs'),
    upstreamCaFiles: [idpCa, sideCa],
    upstreamTimeoutMs: 5_000,
    config: lensConfig(idp, side),
    logger: createLogger({ destination, pretty: false, level: 'debug' }),
  });
  const store = session.lens.store;
  const secrets = new Set<string>();
  const world: World = {
    idp,
    side,
    session,
    proxyUrl: session.lens.proxyUrl,
    lensCaPath: session.lens.caPath,
    logLines,
    secrets,
    remember(...values) {
      for (const v of values) if (v && v.length >= 8) secrets.add(v);
    },
    mark: () => store.list().reduce((max, e) => Math.max(max, e.seq), -1),
    async since(mark, count, pred = () => true) {
      const pick = () => store.list().filter((e) => e.seq > mark && pred(e)).sort((a, b) => a.seq - b.seq);
      for (let i = 0; i < 200 && pick().length < count; i++) await new Promise((r) => setTimeout(r, 25));
      const found = pick();
      expect(found.length, `exchanges stored: ${describe(found)}`).toBeGreaterThanOrEqual(count);
      return found;
    },
    current(id) {
      const e = store.get(id);
      expect(e, `exchange ${id} still in the store`).toBeDefined();
      return e!;
    },
    close: async () => {
      await session.close();
      await side.close();
      await idp.close();
    },
  };
  world.remember(idp.clients.confidential.clientSecret, idp.clients.machine.clientSecret, STAGING_SECRET, side.clientSecret);
  // The Basic header values of every pair a scenario may send.
  for (const [id, secret] of [
    [idp.clients.confidential.clientId, idp.clients.confidential.clientSecret], [idp.clients.machine.clientId, idp.clients.machine.clientSecret],
    [idp.clients.confidential.clientId, STAGING_SECRET], [side.clientId, side.clientSecret],
  ] as const) world.remember(basicAuth(id, secret ?? ''));
  return world;
}

/** The registrations a user would put in --config: prod (the IdP's real clients) and staging. */
function lensConfig(idp: StartedIdp, side: SideServers): LensConfig {
  const conf = idp.clients.confidential;
  const machine = idp.clients.machine;
  return {
    clients: [
      {
        name: 'prod', clientId: conf.clientId, redirectUris: conf.redirectUris, issuer: idp.issuer,
        scopes: ['openid', 'profile', 'email', 'offline_access'], secretSha256: [sha256Hex(conf.clientSecret ?? '')],
      },
      {
        name: 'prod-service', clientId: machine.clientId, issuer: idp.issuer,
        scopes: ['api:read'], secretSha256: [sha256Hex(machine.clientSecret ?? '')],
      },
      {
        name: 'staging', clientId: 'demo-app-staging', redirectUris: ['https://staging.app.oauth-lens.test/callback'],
        issuer: 'https://idp.staging.oauth-lens.test', secretSha256: [sha256Hex(STAGING_SECRET)],
      },
    ],
    tokenEndpoints: [idp.endpoints.token, side.tokenUrl, side.slackLikeUrl],
    thresholds: DEFAULT_THRESHOLDS,
  };
}

/** Findings of an exchange as `code:severity` (primary marked with *), for assertions and messages. */
export function codes(e: StoredExchange): string[] {
  return e.oauth.findings.map((f) => `${f.primary ? '*' : ''}${f.code}:${f.severity}`);
}

export function primary(e: StoredExchange): Finding | undefined {
  return e.oauth.findings.find((f) => f.primary);
}

export function finding(e: StoredExchange, code: string): Finding | undefined {
  return e.oauth.findings.find((f) => f.code === code);
}

export function errors(e: StoredExchange): string[] {
  return e.oauth.findings.filter((f) => f.severity === 'error').map((f) => f.code);
}

export function describe(list: readonly StoredExchange[]): string {
  return list.map((e) => `#${e.seq} ${e.oauth.kind} ${e.request.method} ${e.request.url.slice(0, 80)} → ${e.response?.status ?? e.error?.code ?? '?'} [${codes(e).join(' ')}]`).join('\n');
}

/**
 * No secret this world handled appears in any usual encoding in what a user can see: the serialised
 * store (what the API and feed send), its HAR export, the copy-as-curl text of every exchange, the log.
 */
export function expectNoSecretLeak(world: World): void {
  const stored = world.session.lens.store.list();
  const text = [
    JSON.stringify(stored), JSON.stringify(exchangesToHar(stored)), ...stored.map((e) => exchangeToCurl(e)), ...world.logLines,
  ].join('\n');
  for (const secret of [...world.secrets, ...world.side.issued]) {
    const forms = [
      secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'),
    ];
    for (const form of forms) expect(text.includes(form), `a secret (${secret.length} chars) leaked into the store or log`).toBe(false);
  }
}
