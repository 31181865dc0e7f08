/** Public surface of HAR export, foreign-HAR analysis and copy as curl. */
export { exchangesToHar, type HarExportOptions } from './har.js';
export { exchangeToCurl } from './curl.js';
export { ShellQuoteError } from './shell.js';
export { analyzeHar, type AnalyzeOptions, type HarAnalysis, type FlowSummary, type AttachedFinding } from './analyze.js';
export { harToCaptured, parseHarText, HarImportError, type HarImport, type SkippedEntry } from './from-har.js';
export { formatAnalysis, analysisToJson } from './report.js';
export { FingerprintRekeyer, freshSalt } from './rekey.js';
export type * from './types.js';
