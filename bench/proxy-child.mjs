// The proxy under test, in its own process so its peak RSS is its own. Driven by bench/proxy.bench.mjs over IPC.
import { startLens } from '../dist/app.js';
import { createLogger } from '../dist/log.js';
import { serveBench } from './child-common.mjs';

const [certsDir, upstreamCa] = process.argv.slice(2);
// Log lines are part of the real cost: write them, the way `oauth-lens start` does.
// The product's own stdout logger (batched writes); stdout is /dev/null here (forked with stdio 'ignore').
const logger = createLogger({ pretty: false });
let captured = 0;
const lens = await startLens({ port: 0, certsDir, upstreamCaFiles: [upstreamCa], logger, onCapture: () => { captured++; } });
serveBench({ url: lens.proxyUrl, caPath: lens.caPath, stats: () => ({ captured, leaves: lens.proxy.leaves.issued }), stop: () => lens.close() });
