export { ExchangeStore, DEFAULT_STORE_LIMITS } from './store.js';
export type { StoreLimits, StoreEvents, Alert } from './store.js';
