/** Public surface of the proxy core. */
export { CertificateAuthority, caPaths, certificateFingerprint256, LEAF_VALIDITY_DAYS } from './ca.js';
export type { CaPaths, IssuedLeaf } from './ca.js';
export { clientEnv, formatEnv, writeCaBundle, SHELLS } from './client-env.js';
export type { ClientEnvOptions, Shell } from './client-env.js';
export { LensError } from './errors.js';
export type { LensErrorCode } from './errors.js';
export { LensProxy, DEFAULT_UPSTREAM_TIMEOUT_MS } from './lens-proxy.js';
export type { LensProxyOptions, CaptureSink } from './lens-proxy.js';
export { SelfGuard, parseAuthority, formatAuthority } from './self-guard.js';
export { mapUpstreamError } from './upstream-errors.js';
