/** WebSocket upgrades keep working through the MITM (wss via CONNECT), and our tunnel refuses self-targets. */
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket as UndiciWebSocket } from 'undici';
import { WebSocketServer } from 'ws';
import { startTestLens, type TestLens } from './support/lens.js';
import { createTestCa, tmpDir } from './support/upstream.js';

let server: https.Server;
let wss: WebSocketServer;
let port: number;
let lens: TestLens;

beforeAll(async () => {
  const testCa = await createTestCa();
  const leaf = testCa.issueLeaf('127.0.0.1');
  server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  const caFile = path.join(tmpDir('ws-ca'), 'ca.pem');
  fs.writeFileSync(caFile, testCa.certPem);
  lens = await startTestLens({ upstreamCaFiles: [caFile] });
});

afterAll(async () => {
  await lens?.close();
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

it('a wss:// echo works through the proxy (undici WebSocket over ProxyAgent)', async () => {
  const ws = new UndiciWebSocket(`wss://127.0.0.1:${port}/feed`, { dispatcher: lens.agent() } as never);
  const reply = await new Promise<string>((resolve, reject) => {
    ws.onopen = () => ws.send('hello');
    ws.onmessage = (ev) => resolve(String(ev.data));
    ws.onerror = () => reject(new Error('websocket error'));
    setTimeout(() => reject(new Error('no reply')), 5000);
  });
  expect(reply).toBe('echo:hello');
  const closed = new Promise<void>((r) => { ws.onclose = () => r(); });
  ws.close(1000, 'bye');
  await closed;
});
