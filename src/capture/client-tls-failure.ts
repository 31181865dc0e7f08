import type { CapturedExchange } from './types.js';

/** TransportError code for "the client's TLS handshake with oauth-lens failed" (see clientTlsFailureCapture). */
export const CLIENT_TLS_REJECTED = 'client_tls_rejected';

/**
 * The exchange to record when the proxy reports a failed client handshake (LensProxy `onClientTlsError`):
 * no HTTP request exists, so this CONNECT record is the only trace tls.client_rejected_lens_ca can diagnose.
 */
export function clientTlsFailureCapture(id: string, authority: string, nodeCode: string, at: number, clientAddress?: string): CapturedExchange {
  return {
    id,
    timings: { start: at, end: at },
    connectTarget: authority,
    ...(clientAddress ? { clientAddress } : {}),
    request: { method: 'CONNECT', url: `https://${authority}`, httpVersion: '1.1', headers: [], body: { bytes: Buffer.alloc(0), size: 0, truncated: false } },
    error: { code: CLIENT_TLS_REJECTED, message: 'the client aborted the TLS handshake with oauth-lens', nodeCode },
  };
}
