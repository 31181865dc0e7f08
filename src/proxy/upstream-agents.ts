/**
 * The agents http-mitm-proxy uses for every upstream request and WebSocket: keep-alive, our trust store
 * (system CAs + NODE_EXTRA_CA_CERTS + --upstream-ca), and the self-guard on resolved addresses.
 * The trust store is compiled into ONE SecureContext: passing `ca` per request would rebuild it per connection.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { SelfGuard } from './self-guard.js';

export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface UpstreamTrustOptions {
  /** Extra PEM files to trust upstream (`--upstream-ca`). */
  upstreamCaFiles?: string[];
  /** Opt-in only: accept any upstream certificate. */
  insecureUpstream?: boolean;
  /** Environment to read NODE_EXTRA_CA_CERTS from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface UpstreamAgents {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  destroy(): void;
}

/** PEM text of every CA the proxy trusts upstream. */
export function upstreamTrustPems(options: UpstreamTrustOptions): string[] {
  const pems: string[] = [...tls.rootCertificates];
  const system = readIfExists(SYSTEM_CA_BUNDLE);
  if (system) pems.push(system);
  const extra = (options.env ?? process.env).NODE_EXTRA_CA_CERTS;
  if (extra) {
    const text = readIfExists(extra);
    if (text) pems.push(text);
  }
  for (const file of options.upstreamCaFiles ?? []) pems.push(fs.readFileSync(file, 'utf8'));
  return pems;
}

export function createUpstreamAgents(guard: SelfGuard, options: UpstreamTrustOptions): UpstreamAgents {
  const secureContext = tls.createSecureContext({ ca: upstreamTrustPems(options) });
  const tlsOptions: https.AgentOptions = options.insecureUpstream
    ? { rejectUnauthorized: false }
    : { secureContext, rejectUnauthorized: true };
  const common = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 64, scheduling: 'lifo' as const };
  const httpAgent = new GuardedHttpAgent(guard, common);
  const httpsAgent = new GuardedHttpsAgent(guard, { ...common, ...tlsOptions });
  return {
    httpAgent,
    httpsAgent,
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

type ConnectOptions = http.ClientRequestArgs;
type ConnectCallback = (err: Error | null, stream: Duplex) => void;

class GuardedHttpAgent extends http.Agent {
  #guard: SelfGuard;
  constructor(guard: SelfGuard, options: http.AgentOptions) {
    super(options);
    this.#guard = guard;
  }
  override createConnection(options: ConnectOptions, callback?: ConnectCallback): Duplex | null | undefined {
    return withoutNagle(super.createConnection(withGuard(this.#guard, options), callback));
  }
}

class GuardedHttpsAgent extends https.Agent {
  #guard: SelfGuard;
  constructor(guard: SelfGuard, options: https.AgentOptions) {
    super(options);
    this.#guard = guard;
  }
  override createConnection(options: ConnectOptions, callback?: ConnectCallback): Duplex | null | undefined {
    return withoutNagle(super.createConnection(withGuard(this.#guard, options), callback));
  }
}

function withGuard(guard: SelfGuard, options: ConnectOptions): ConnectOptions {
  const lookup = guard.lookupFor(Number(options.port));
  return lookup ? { ...options, lookup: lookup as ConnectOptions['lookup'] } : options;
}

/**
 * Upstream sockets send each write at once (TCP_NODELAY), as the client-facing server already does (Node's
 * http.Server default): a chunked request's last-chunk written after its body must not wait for an ACK.
 */
function withoutNagle(socket: Duplex | null | undefined): Duplex | null | undefined {
  (socket as net.Socket | null | undefined)?.setNoDelay?.(true);
  return socket;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
