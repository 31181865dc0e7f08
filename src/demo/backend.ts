/**
 * The demo backend: an ordinary Node 20 program (no proxy code) that logs in against the demo
 * IdP — once correctly, five times wrongly — when it starts, and again whenever someone opens
 * one of its scenario links. Run it under `oauth-lens run`, or with HTTPS_PROXY + the preload.
 *
 * Environment: DEMO_IDP_INFO (JSON file the IdP side wrote), BACKEND_HOST (127.0.0.1),
 * BACKEND_PORT (3000, 0 = any), DEMO_RUN_ON_START (1).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runScenario, SCENARIOS, type DemoIdpInfo, type ScenarioResult } from './scenarios.js';

const PREFIX = 'demo backend │';

function log(line: string): void {
  process.stdout.write(`${PREFIX} ${line}\n`);
}

function loadInfo(): DemoIdpInfo {
  const file = process.env['DEMO_IDP_INFO'];
  if (!file) throw new Error('DEMO_IDP_INFO must name the JSON file written by the demo IdP');
  return JSON.parse(readFileSync(file, 'utf8')) as DemoIdpInfo;
}

function format(result: ScenarioResult): string {
  const expectation = result.expectedFinding ? `expect finding ${result.expectedFinding}` : 'expect no error finding';
  return `${result.title}: ${result.outcome}  (${expectation})`;
}

async function runAll(info: DemoIdpInfo): Promise<void> {
  for (const scenario of SCENARIOS) {
    try {
      log(format(await runScenario(scenario.id, info)));
    } catch (err) {
      log(`${scenario.title}: failed (${(err as Error).message})`);
    }
  }
  log('all scenarios done');
}

function page(): string {
  const items = SCENARIOS.map((s) => `<li><a href="/scenario/${s.id}">${s.title}</a>${s.expectedFinding ? ` → <code>${s.expectedFinding}</code>` : ''}</li>`).join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oauth-lens demo backend</title></head>` +
    `<body><h1>oauth-lens demo backend</h1><p>Each link runs one login against the demo IdP through oauth-lens; watch the viewer.</p><ul>${items}</ul></body></html>`;
}

/** The configured port, or any free one when it is taken (the demo must start anyway). */
function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || port === 0) return reject(err);
      server.listen(0, host, resolve);
    });
    server.listen(port, host, resolve);
  });
}

async function main(): Promise<void> {
  const info = loadInfo();
  const server = createServer((req, res) => {
    const match = /^\/scenario\/([\w-]+)$/.exec(req.url ?? '');
    if (req.url === '/' || req.url === '') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page());
    } else if (match) {
      runScenario(match[1]!, info).then(
        (result) => {
          log(format(result));
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`${format(result)}\n`);
        },
        (err: Error) => res.writeHead(404, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  const host = process.env['BACKEND_HOST'] ?? '127.0.0.1';
  await listen(server, Number(process.env['BACKEND_PORT'] ?? 3000), host);
  log(`listening on http://${host}:${(server.address() as AddressInfo).port}/ (open it to rerun a scenario)`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.env['DEMO_RUN_ON_START'] !== '0') await runAll(info);
}

main().catch((err: Error) => {
  process.stderr.write(`${PREFIX} cannot start: ${err.message}\n`);
  process.exit(1);
});
