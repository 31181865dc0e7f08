// The proxy under test, in its own process so its peak RSS is its own. Driven by bench/proxy.bench.mjs over IPC.
import { startLens } from '../dist/app.js';
import { createLogger } from '../dist/log.js';

const [certsDir, upstreamCa] = process.argv.slice(2);
// Log lines are part of the real cost: write them, the way `oauth-lens start` does.
// The product's own stdout logger (batched writes); stdout is /dev/null here (forked with stdio 'ignore').
const logger = createLogger({ pretty: false });
let captured = 0;
const lens = await startLens({ port: 0, certsDir, upstreamCaFiles: [upstreamCa], logger, onCapture: () => { captured++; } });
let peak = process.memoryUsage().rss;
setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 20).unref();
process.on('message', async (msg) => {
  if (msg === 'stats') process.send({ peakRss: Math.max(peak, process.memoryUsage().rss), captured, leaves: lens.proxy.leaves.issued });
  if (msg === 'stop') { await lens.close(); process.exit(0); }
});
process.send({ ready: true, url: lens.proxyUrl, caPath: lens.caPath, baselineRss: process.memoryUsage().rss });
