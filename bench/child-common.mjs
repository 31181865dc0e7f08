// What the benchmark's proxy processes (oauth-lens and the two references) share.
import tls from 'node:tls';

/** The references' leaves: one TLS context per host, signed by `ca` on first use. */
export function leafContexts(ca) {
  const contexts = new Map();
  return {
    contextFor(host) {
      if (!contexts.has(host)) {
        const leaf = ca.issueLeaf(host);
        contexts.set(host, tls.createSecureContext({ key: leaf.keyPem, cert: leaf.certPem }));
      }
      return contexts.get(host);
    },
    get size() {
      return contexts.size;
    },
  };
}

/**
 * The IPC side: peak RSS sampled every 20 ms, 'stats' answered with it, 'stop' exits, and the ready message with
 * the proxy URL and CA path.
 */
export function serveBench({ url, caPath, stats, stop }) {
  const baselineRss = process.memoryUsage.rss();
  let peak = baselineRss;
  setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 20).unref();
  process.on('message', async (msg) => {
    if (msg === 'stats') process.send({ peakRss: Math.max(peak, process.memoryUsage.rss()), ...stats() });
    if (msg === 'stop') {
      await stop?.();
      process.exit(0);
    }
  });
  process.send({ ready: true, url, caPath, baselineRss });
}
