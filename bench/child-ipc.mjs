// The IPC side shared by the benchmark's proxy processes (oauth-lens and the two references): peak RSS sampled
// every 20 ms, 'stats' answered with it, 'stop' exits, and the ready message with the proxy URL and CA path.
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
