/** Errors raised by the proxy core, each with a stable `OAL_ERR_*` code that callers and tests match on. */
export type LensErrorCode =
  | 'OAL_ERR_CA_INVALID'
  | 'OAL_ERR_PORT_IN_USE'
  | 'OAL_ERR_LISTEN'
  | 'OAL_ERR_PROXY_LOOP'
  | 'OAL_ERR_UPSTREAM_TIMEOUT'
  | 'OAL_ERR_BAD_TARGET';

export class LensError extends Error {
  readonly code: LensErrorCode;

  constructor(code: LensErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LensError';
    this.code = code;
  }
}
