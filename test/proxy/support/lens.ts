/** A real LensProxy on 127.0.0.1:0 with a fresh CA, collecting raw captures for assertions. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ProxyAgent } from 'undici';
import type { CapturedExchange } from '../../../src/capture/types.js';
import { CertificateAuthority } from '../../../src/proxy/ca.js';
import { LensProxy, type LensProxyOptions } from '../../../src/proxy/lens-proxy.js';
import { tmpDir } from './upstream.js';

export const run = promisify(execFile);

export interface TestLens {
  proxy: LensProxy;
  ca: CertificateAuthority;
  captured: CapturedExchange[];
  /** Wait until a capture matching `pred` arrives. */
  waitFor(pred: (c: CapturedExchange) => boolean, timeoutMs?: number): Promise<CapturedExchange>;
  agent(): ProxyAgent;
  close(): Promise<void>;
}

export async function startTestLens(options: Partial<LensProxyOptions> = {}): Promise<TestLens> {
  const ca = await CertificateAuthority.loadOrCreate(tmpDir('lens-ca'));
  const captured: CapturedExchange[] = [];
  const waiters = new Set<() => void>();
  const proxy = await LensProxy.start({
    ca,
    port: 0,
    ...options,
    onCapture: (c) => {
      captured.push(c);
      for (const w of waiters) w();
      options.onCapture?.(c);
    },
  });
  const agents: ProxyAgent[] = [];
  return {
    proxy,
    ca,
    captured,
    waitFor(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = captured.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching capture within ${timeoutMs} ms (have ${captured.length})`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    agent() {
      const agent = new ProxyAgent({ uri: proxy.url, requestTls: { ca: ca.certPem } });
      agents.push(agent);
      return agent;
    },
    async close() {
      await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
      await proxy.close();
    },
  };
}

/** curl through the proxy, trusting its CA; resolves with status, headers and body bytes. */
export async function curl(lens: TestLens, url: string, args: string[] = [], caFile?: string): Promise<{ status: number; headers: string; body: Buffer }> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const ca = caFile ?? path.join(lens.ca.paths.dir, 'ca.pem');
  const outFile = path.join(tmpDir('curl'), 'body');
  const { stdout } = await run('curl', [
    '-sS', '--max-time', '10', '-x', lens.proxy.url, '--cacert', ca, '-o', outFile, '-D', '-', '-w', '\n%{http_code}', ...args, url,
  ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, headers: lines.join('\n'), body: fs.existsSync(outFile) ? fs.readFileSync(outFile) : Buffer.alloc(0) };
}
