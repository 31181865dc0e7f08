/** Public surface of the admin server: API, feed, alerts, state file and the shared wire format. */
export { startAdminServer } from './admin-server.js';
export type { AdminServer, AdminServerOptions } from './admin-server.js';
export { AdminServerError } from './errors.js';
export type { AdminErrorCode } from './errors.js';
export { FailureRateAlerts, FAILURE_RATE_ALERT_CODE } from './alerts.js';
export type { AlertThresholds } from './alerts.js';
export { FeedHub, computeStats } from './feed.js';
export { toWire, toSummary, worstSeverity } from './wire.js';
export type { WireExchange, WireSummary, WireFinding, FeedMessage, FeedStats } from './wire.js';
export { writeStateFile, readStateFile, removeStateFile, defaultStateDir, stateFilePath } from './state-file.js';
export type { LensState } from './state-file.js';
export type { LensLogger } from './logger.js';
