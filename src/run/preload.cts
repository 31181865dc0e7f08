/**
 * Node preload that `oauth-lens run` injects with `NODE_OPTIONS=--require <this file>`.
 * `--require` runs before the entry point of CommonJS *and* ES module programs, so one file
 * serves both. It routes through the proxy named by HTTPS_PROXY/HTTP_PROXY, honouring NO_PROXY:
 *  - global `fetch` (Node's bundled undici ignores HTTPS_PROXY before Node 22.21/24.5): installs
 *    undici's `EnvHttpProxyAgent` as the global dispatcher. undici is resolved from the
 *    oauth-lens install, never from the program's cwd, because the program may not have it.
 *  - `http`/`https` requests without an explicit agent: replaces the global agents with agents
 *    that open a CONNECT tunnel through the proxy (TLS stays end to end with the proxy's leaf).
 * On Node versions where NODE_USE_ENV_PROXY covers fetch and http/https, it does nothing.
 * It must never break the program: every step is guarded and failures print one line.
 * Plain CommonJS with Node built-ins only; no import of other oauth-lens modules.
 */
import http = require('node:http');
import https = require('node:https');
import net = require('node:net');
import tls = require('node:tls');
import path = require('node:path');
import { matchesNoProxy, noProxyFromEnv, parseNoProxy, type NoProxyEntry } from './no-proxy.cjs';

const INSTALLED = Symbol.for('oauth-lens.preload.installed');

import type { Duplex } from 'node:stream';

type ConnectOptions = http.ClientRequestArgs & tls.ConnectionOptions;
type SocketCallback = (err: Error | null, socket?: net.Socket) => void;
type AgentCallback = (err: Error | null, stream: Duplex) => void;

function warn(message: string): void {
  try {
    process.stderr.write(`oauth-lens preload: ${message}\n`);
  } catch {
    // stderr closed: nothing else to do
  }
}

/** Node ≥ 22.21 (22.x) and ≥ 24.5 route fetch and http/https themselves under NODE_USE_ENV_PROXY=1. */
function nodeHandlesEnvProxy(): boolean {
  if (process.env['NODE_USE_ENV_PROXY'] !== '1') return false;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21);
}

/** Opens a CONNECT tunnel to host:port through the proxy; resolves with the raw socket. */
function openTunnel(proxy: URL, host: string, port: number, callback: SocketCallback): void {
  const proxyPort = Number(proxy.port) || 80;
  const socket = net.connect(proxyPort, proxy.hostname.replace(/^\[|\]$/g, ''));
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  let head = '';
  let settled = false;
  const finish = (err: Error | null, result?: net.Socket) => {
    if (settled) return;
    settled = true;
    socket.removeListener('data', onData);
    callback(err, result);
  };
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 16_384) finish(new Error('oauth-lens proxy sent an oversized CONNECT response'));
      return;
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    if (status !== 200) {
      socket.destroy();
      finish(new Error(`oauth-lens proxy refused CONNECT ${target} (HTTP ${status || 'invalid response'})`));
      return;
    }
    const rest = Buffer.from(head.slice(end + 4), 'latin1');
    if (rest.length) socket.unshift(rest);
    finish(null, socket);
  };
  socket.on('data', onData);
  socket.once('error', (err) => finish(err));
  socket.once('close', () => finish(new Error(`oauth-lens proxy closed the connection during CONNECT ${target}`)));
  socket.once('connect', () => {
    const auth = proxy.username
      ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`
      : '';
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  });
}

function targetOf(options: ConnectOptions, defaultPort: number): { host: string; port: number } {
  return { host: String(options.host ?? options.hostname ?? 'localhost'), port: Number(options.port) || defaultPort };
}

/** https.Agent whose sockets are TLS over a CONNECT tunnel, unless NO_PROXY says direct. */
class TunnelingHttpsAgent extends https.Agent {
  readonly #proxy: URL;
  readonly #noProxy: NoProxyEntry[];
  constructor(proxy: URL, noProxy: NoProxyEntry[], options: https.AgentOptions) {
    super(options);
    this.#proxy = proxy;
    this.#noProxy = noProxy;
  }
  override createConnection(options: ConnectOptions, callback?: AgentCallback): Duplex | null | undefined {
    const { host, port } = targetOf(options, 443);
    if (matchesNoProxy(this.#noProxy, host, port)) return super.createConnection(options, callback);
    openTunnel(this.#proxy, host, port, (err, raw) => {
      if (err || !raw) return callback?.(err ?? new Error('no tunnel'), raw as unknown as Duplex);
      const servername = options.servername ?? (net.isIP(host) ? undefined : host);
      const { socket: _ignored, ...tlsOptions } = options as tls.ConnectionOptions;
      const secure = tls.connect({ ...tlsOptions, socket: raw, ...(servername ? { servername } : {}) });
      callback?.(null, secure);
    });
    return undefined;
  }
}

/** http.Agent whose sockets are CONNECT tunnels (the proxy sniffs plain HTTP inside), unless NO_PROXY. */
class TunnelingHttpAgent extends http.Agent {
  readonly #proxy: URL;
  readonly #noProxy: NoProxyEntry[];
  constructor(proxy: URL, noProxy: NoProxyEntry[], options: http.AgentOptions) {
    super(options);
    this.#proxy = proxy;
    this.#noProxy = noProxy;
  }
  override createConnection(options: ConnectOptions, callback?: AgentCallback): Duplex | null | undefined {
    const { host, port } = targetOf(options, 80);
    if (matchesNoProxy(this.#noProxy, host, port)) return super.createConnection(options, callback);
    openTunnel(this.#proxy, host, port, (err, raw) => callback?.(err, raw as unknown as Duplex));
    return undefined;
  }
}

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/**
 * Routes global fetch through undici's EnvHttpProxyAgent. The global dispatcher slot gets a stand-in
 * that loads undici (~150 ms) on its first use — Node's fetch dispatches on its first call — so
 * programs that never fetch (npm, wrappers, CLIs) start as fast as before, and a program whose own
 * undici initialises while ours is not loaded yet sees a dispatcher already set instead of a cycle.
 * The slot stays writable: a program that installs its own dispatcher wins, as without oauth-lens.
 */
function installFetchDispatcher(): void {
  if (typeof globalThis.fetch !== 'function') return;
  const holder = globalThis as unknown as Record<symbol, unknown>;
  if (holder[GLOBAL_DISPATCHER] !== undefined) return; // someone set one before us: leave it
  let real: Record<string | symbol, unknown> | undefined;
  const load = (): Record<string | symbol, unknown> => {
    if (real) return real;
    // Resolve from this file's location: the oauth-lens install, not the program's cwd.
    const undiciPath = require.resolve('undici', { paths: [path.resolve(__dirname, '..', '..')] });
    const undici = require(undiciPath) as { EnvHttpProxyAgent: new () => Record<string | symbol, unknown> };
    real = new undici.EnvHttpProxyAgent();
    return real;
  };
  const standIn = new Proxy({}, {
    get(_target, property) {
      const agent = load();
      const value = agent[property];
      return typeof value === 'function' && property !== 'constructor' ? (value as (...a: unknown[]) => unknown).bind(agent) : value;
    },
    has: (_target, property) => property in load(),
  });
  Object.defineProperty(globalThis, GLOBAL_DISPATCHER, { value: standIn, writable: true, configurable: true, enumerable: false });
}

function installAgents(proxy: URL, noProxy: NoProxyEntry[]): void {
  const agentOptions = { keepAlive: true };
  const httpsAgent = new TunnelingHttpsAgent(proxy, noProxy, agentOptions);
  const httpAgent = new TunnelingHttpAgent(proxy, noProxy, agentOptions);
  https.globalAgent = httpsAgent;
  http.globalAgent = httpAgent;
}

function install(): void {
  const state = globalThis as unknown as Record<symbol, boolean>;
  if (state[INSTALLED]) return;
  state[INSTALLED] = true;
  const env = process.env;
  const proxyText = env['HTTPS_PROXY'] || env['https_proxy'] || env['HTTP_PROXY'] || env['http_proxy'];
  if (!proxyText || nodeHandlesEnvProxy()) return;
  let proxy: URL;
  try {
    proxy = new URL(proxyText);
  } catch {
    warn('HTTPS_PROXY is not a valid URL; traffic is not routed through oauth-lens');
    return;
  }
  const noProxy = parseNoProxy(noProxyFromEnv(env));
  try {
    installFetchDispatcher();
  } catch (err) {
    warn(`global fetch is not routed through the proxy (${(err as Error).message})`);
  }
  try {
    installAgents(proxy, noProxy);
  } catch (err) {
    warn(`http/https modules are not routed through the proxy (${(err as Error).message})`);
  }
}

install();
