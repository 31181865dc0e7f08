/**
 * Per-host TLS contexts for the client side of the tunnel, signed on demand by the local CA and kept
 * in a bounded LRU. A leaf close to expiry is re-issued instead of served.
 */
import tls from 'node:tls';
import { Lru } from './lru.js';
import type { CertificateAuthority } from './ca.js';

const REISSUE_MARGIN_MS = 86_400_000;

interface CachedLeaf {
  context: tls.SecureContext;
  notAfter: number;
}

export class LeafCache {
  #ca: CertificateAuthority;
  #cache: Lru<string, CachedLeaf>;
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
    const context = tls.createSecureContext({ key: leaf.keyPem, cert: leaf.certPem, minVersion: 'TLSv1.2' });
    this.#cache.set(key, { context, notAfter: leaf.notAfter.getTime() });
    return context;
  }

  get size(): number {
    return this.#cache.size;
  }
}
