// Reference floor for the proxy benchmark: the least a TLS-intercepting node:http relay can do. It terminates
// CONNECT tunnels with a leaf from the same CA and relays each request through a keep-alive https.Agent —
// no http-mitm-proxy, no capture, no log, no error handling. Whatever oauth-lens costs above this row is its
// own; what this row costs above direct is Node and the machine. Shared parts: child-common.mjs.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { CertificateAuthority } from '../dist/proxy/ca.js';
import { leafContexts, serveBench } from './child-common.mjs';

const [certsDir, upstreamCaFile] = process.argv.slice(2);
const ca = await CertificateAuthority.loadOrCreate(certsDir);
const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(upstreamCaFile, 'utf8') });
const leaves = leafContexts(ca);
const targets = new WeakMap();
const inner = http.createServer((req, res) => {
  const [host, port] = targets.get(req.socket).split(':');
  const upstream = https.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent, servername: '' }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  req.pipe(upstream);
});
const outer = http.createServer();
outer.on('connect', (req, socket) => {
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: leaves.contextFor(req.url.split(':')[0]) });
  targets.set(secure, req.url);
  inner.emit('connection', secure);
});
await new Promise((resolve) => outer.listen(0, '127.0.0.1', resolve));
serveBench({ url: `http://127.0.0.1:${outer.address().port}`, caPath: ca.paths.cert, stats: () => ({ captured: 0, leaves: leaves.size }) });
