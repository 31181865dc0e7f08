import { createRequire } from 'node:module';

/** Package version; package.json sits two levels up from both src/server and dist/server. */
export const LENS_VERSION: string = (() => {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
