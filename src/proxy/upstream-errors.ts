/**
 * Maps a failure to reach the upstream onto a stable `TransportError` and the status the client gets:
 * 504 for a timeout, 403 for a request aimed at oauth-lens itself, 502 for everything else.
 * The text names the cause and the target only, never request data or the library's `${kind}: ${err}`.
 */
import type { TransportError } from '../capture/types.js';

export interface MappedError {
  error: TransportError;
  status: 502 | 504 | 403;
}

const TLS_UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

export function mapUpstreamError(err: unknown, target: string): MappedError {
  const e = (err ?? {}) as NodeJS.ErrnoException & { reason?: string; cert?: { subjectaltname?: string } };
  const nodeCode = typeof e.code === 'string' ? e.code : undefined;
  const make = (code: string, message: string, status: MappedError['status'] = 502): MappedError => ({
    error: { code, message, ...(nodeCode ? { nodeCode } : {}) },
    status,
  });
  switch (nodeCode) {
    case 'OAL_ERR_PROXY_LOOP':
      return make('proxy_loop', `refused: ${target} is oauth-lens itself`, 403);
    case 'OAL_ERR_UPSTREAM_TIMEOUT':
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return make('timeout', `upstream ${target} did not answer in time`, 504);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NODATA':
    case 'EAI_FAIL':
      return make('dns', `cannot resolve the upstream host of ${target}`);
    case 'ECONNREFUSED':
      return make('refused', `upstream ${target} refused the connection`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return make('reset', `upstream ${target} closed the connection`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make('other', `upstream ${target} is unreachable`);
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      // Certificate names are public facts and the quickest hint (wrong host, missing SAN).
      const names = typeof e.cert?.subjectaltname === 'string' ? ` (${e.cert.subjectaltname.slice(0, 200)})` : '';
      return make('tls_hostname', `upstream ${target} presented a certificate for another name${names}`);
    }
    case 'CERT_HAS_EXPIRED':
      return make('tls_expired', `upstream ${target} presented an expired certificate`);
    case 'CERT_NOT_YET_VALID':
      return make('tls_expired', `upstream ${target} presented a certificate that is not valid yet`);
    default:
      break;
  }
  if (nodeCode && TLS_UNTRUSTED.has(nodeCode)) {
    return make('tls_untrusted', `upstream ${target} presented a certificate from an untrusted CA (trust it with --upstream-ca)`);
  }
  if (nodeCode?.startsWith('ERR_SSL_') || nodeCode === 'EPROTO' || nodeCode?.startsWith('ERR_TLS_')) {
    return make('tls_other', `TLS handshake with upstream ${target} failed (${nodeCode})`);
  }
  if (e.message === 'socket hang up') return make('reset', `upstream ${target} closed the connection`);
  return make('other', `request to upstream ${target} failed${nodeCode ? ` (${nodeCode})` : ''}`);
}
