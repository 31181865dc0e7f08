/** Types for build-viewer.mjs, so the tests that build the viewer are type-checked. */

/** Bundles src/viewer/web into `outDir` (default dist/viewer) and resolves with that directory. */
export function buildViewer(outDir?: string): Promise<string>;
