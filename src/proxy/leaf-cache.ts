/**
 * Per-host TLS contexts for the client side of the tunnel, signed on demand by the local CA and kept
 * in a bounded LRU. A leaf close to expiry is re-issued instead of served.
 *
 * Every leaf shares one key, so a context holding that key is made ahead of time ("spare") and only the
 * host's certificate is added when a new host arrives: OpenSSL 3 spends ~60 % of a context's creation on
 * the context itself and on decoding the key, and that no longer sits between a client's ClientHello and
 * our ServerHello.
 */
import tls from 'node:tls';
import { Lru } from './lru.js';
import type { CertificateAuthority } from './ca.js';

const REISSUE_MARGIN_MS = 86_400_000;
/** The spare is made this long after the last one was used: not inside the handshake that used it. */
const REFILL_DELAY_MS = 10;
const MIN_VERSION = 'TLSv1.2';

interface CachedLeaf {
  context: tls.SecureContext;
  notAfter: number;
}

/** The native context under tls.SecureContext: what tls.createSecureContext itself configures. */
interface NativeContext {
  setCert?(pem: string): void;
}

export class LeafCache {
  #ca: CertificateAuthority;
  #cache: Lru<string, CachedLeaf>;
  #spare: tls.SecureContext | undefined;
  #refillScheduled = false;
  /** Leaves signed so far (tests and the benchmark read it). */
  issued = 0;

  constructor(ca: CertificateAuthority, capacity = 1000) {
    this.#ca = ca;
    this.#cache = new Lru(capacity);
  }

  /** The secure context presenting a certificate for `host`, signing one if needed. */
  contextFor(host: string): tls.SecureContext {
    const key = host.toLowerCase();
    const cached = this.#cache.get(key);
    if (cached && cached.notAfter - Date.now() > REISSUE_MARGIN_MS) return cached.context;
    const leaf = this.#ca.issueLeaf(key);
    this.issued++;
    const context = this.#withCertificate(leaf.certPem);
    this.#cache.set(key, { context, notAfter: leaf.notAfter.getTime() });
    return context;
  }

  /** Make the next new host's context cheap (called at start; refilled after each use, off the hot path). */
  prepareSpare(): void {
    this.#spare ??= tls.createSecureContext({ key: this.#ca.leafKeyPem, minVersion: MIN_VERSION });
  }

  get size(): number {
    return this.#cache.size;
  }

  #withCertificate(certPem: string): tls.SecureContext {
    const spare = this.#spare;
    const native = spare?.context as NativeContext | undefined;
    if (spare && typeof native?.setCert === 'function') {
      this.#spare = undefined;
      native.setCert(certPem);
      this.#scheduleRefill();
      return spare;
    }
    this.#scheduleRefill();
    return tls.createSecureContext({ key: this.#ca.leafKeyPem, cert: certPem, minVersion: MIN_VERSION });
  }

  #scheduleRefill(): void {
    if (this.#refillScheduled) return;
    this.#refillScheduled = true;
    setTimeout(() => {
      this.#refillScheduled = false;
      try {
        this.prepareSpare();
      } catch {
        // the next new host makes its context the ordinary way
      }
    }, REFILL_DELAY_MS).unref();
  }
}
