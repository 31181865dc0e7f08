/** Errors of the admin server, each with a stable `OAL_ERR_*` code callers and tests match on. */
export type AdminErrorCode = 'OAL_ERR_PORT_IN_USE' | 'OAL_ERR_LISTEN' | 'OAL_ERR_STATE_FILE';

export class AdminServerError extends Error {
  readonly code: AdminErrorCode;

  constructor(code: AdminErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminServerError';
    this.code = code;
  }
}
