/** Public surface of the OAuth engine. */
export { OAuthEngine, type EngineOptions, type EngineStats, type IngestResult } from './engine.js';
export { loadFingerprintKey, FingerprintKeyError, FINGERPRINT_KEY_FILE } from './fingerprint.js';
export { parseConfig, loadConfigFile, ConfigError } from './config-validate.js';
export { DEFAULT_THRESHOLDS, EMPTY_CONFIG, type LensConfig, type ClientConfig, type Thresholds } from './config.js';
export { CATALOGUE, FINDING_CODES, isFindingCode, type FindingCode, type CatalogueEntry } from './catalogue.js';
export { describeConfig } from './config-describe.js';
export { renderFindingCodes } from './finding-codes.js';
export type { AnalyzedExchange, SecretRef } from './types.js';
