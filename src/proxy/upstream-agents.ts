/**
 * The agents http-mitm-proxy uses for every upstream request and WebSocket: keep-alive, our trust store
 * (system CAs + NODE_EXTRA_CA_CERTS + --upstream-ca), and the self-guard on resolved addresses.
 * The trust store is compiled into ONE SecureContext: passing `ca` per request would rebuild it per connection.
 * The https agent can also open a connection ahead of the first request (`preconnect`, called when a tunnel is
 * accepted), so the upstream handshake overlaps the client's handshake with us, as mitmproxy's eager
 * connection strategy does.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { HostPort, SelfGuard } from './self-guard.js';

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
  /**
   * Start a TLS connection to `target` now, unless the pool already has one to spare; never fails loudly.
   * Returns a function that closes it again if no request has taken it.
   */
  preconnect(target: HostPort, servername: string): (() => void) | undefined;
  /**
   * A TLS connection of its own for one tunnel (the tunnel relay): the one opened ahead for this target
   * and name if there is one, else a new one; same trust, guard and session cache as the pool. Never pooled.
   */
  tunnelConnection(target: HostPort, servername: string): tls.TLSSocket;
  destroy(): void;
}

/** A preconnected socket no request has taken by then is closed. */
const PRECONNECT_IDLE_MS = 5_000;

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
    preconnect: (target, servername) => httpsAgent.preconnect(target, servername),
    tunnelConnection: (target, servername) => httpsAgent.tunnelConnection(target, servername),
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

type AgentInternals = { getName(options: object): string; options: object };
type PoolOptions = ConnectOptions & { _agentKey?: string; servername?: string };

interface EarlyConnection {
  socket: tls.TLSSocket;
  /** Removes the preconnect-time listeners and timer. */
  release(): void;
}

class GuardedHttpsAgent extends https.Agent {
  #guard: SelfGuard;
  /** Pool key → a connection opened ahead of its request, not yet handed to one. */
  #early = new Map<string, EarlyConnection>();
  constructor(guard: SelfGuard, options: https.AgentOptions) {
    super(options);
    this.#guard = guard;
  }

  override createConnection(options: ConnectOptions, callback?: ConnectCallback): Duplex | null | undefined {
    const key = (options as PoolOptions)._agentKey;
    const early = key === undefined ? undefined : this.#early.get(key);
    if (early) {
      this.#early.delete(key!);
      early.release();
      return early.socket; // from here on the request's own listeners see its errors, as for any new socket
    }
    return withoutNagle(super.createConnection(withGuard(this.#guard, options), callback));
  }

  preconnect(target: HostPort, servername: string): (() => void) | undefined {
    const { options, key } = this.#poolOptions(target, servername);
    if (this.#early.has(key) || (this.freeSockets[key]?.length ?? 0) > 0) return undefined;
    let socket: tls.TLSSocket;
    try {
      socket = this.#connect(options, key);
    } catch {
      return undefined; // the request will connect, and report, by itself
    }
    const discard = (): void => {
      if (this.#early.get(key)?.socket === socket) this.#early.delete(key);
      socket.destroy();
    };
    // Silent until taken: on failure the request opens its own connection and reports that one's error.
    socket.on('error', discard);
    socket.once('close', discard);
    socket.once('end', discard);
    socket.setTimeout(PRECONNECT_IDLE_MS, discard);
    const release = (): void => {
      socket.setTimeout(0);
      socket.off('timeout', discard);
      socket.off('error', discard);
      socket.off('close', discard);
      socket.off('end', discard);
    };
    this.#early.set(key, { socket, release });
    return () => {
      if (this.#early.get(key)?.socket === socket) discard();
    };
  }

  tunnelConnection(target: HostPort, servername: string): tls.TLSSocket {
    const { options, key } = this.#poolOptions(target, servername);
    const early = this.#early.get(key);
    if (early) {
      this.#early.delete(key);
      early.release();
      return early.socket;
    }
    return this.#connect(options, key);
  }

  /** The options and pool key the agent itself builds for a request to this target (Agent#createSocket). */
  #poolOptions(target: HostPort, servername: string): { options: PoolOptions; key: string } {
    const options: PoolOptions = { ...(this as unknown as AgentInternals).options, host: target.host, port: target.port, servername };
    return { options, key: (this as unknown as AgentInternals).getName(options) };
  }

  /** With the pool key, Node caches and resumes TLS sessions for it as for any agent socket. */
  #connect(options: PoolOptions, key: string): tls.TLSSocket {
    return withoutNagle(super.createConnection(withGuard(this.#guard, { ...options, _agentKey: key } as ConnectOptions))) as tls.TLSSocket;
  }

  override destroy(): void {
    for (const { socket } of this.#early.values()) socket.destroy();
    this.#early.clear();
    super.destroy();
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
