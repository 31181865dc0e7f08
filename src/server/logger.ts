/** The slice of a pino logger the server uses; a real pino logger satisfies it. */
export interface LensLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export const silentLogger: LensLogger = { info() {}, warn() {}, error() {}, debug() {} };
