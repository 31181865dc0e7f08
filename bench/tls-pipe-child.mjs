// Reference floor for the proxy benchmark: a raw TLS pipe. It terminates each CONNECT tunnel with a leaf from
// the same CA, opens a TLS connection of its own to the target and pipes bytes both ways — no HTTP parsing, no
// capture, no log, no error handling. oauth-lens's tunnel relay does this plus following each direction; this
// row is what the pipe alone costs here. Shared parts: child-common.mjs.
import fs from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { CertificateAuthority } from '../dist/proxy/ca.js';
import { leafContexts, serveBench } from './child-common.mjs';

const [certsDir, upstreamCaFile] = process.argv.slice(2);
const ca = await CertificateAuthority.loadOrCreate(certsDir);
const upstreamCa = fs.readFileSync(upstreamCaFile, 'utf8');
const leaves = leafContexts(ca);
const outer = http.createServer();
outer.on('connect', (req, socket) => {
  const [host, port] = req.url.split(':');
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  const client = new tls.TLSSocket(socket, { isServer: true, secureContext: leaves.contextFor(host) });
  const upstream = tls.connect({ host, port: Number(port), ca: upstreamCa });
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
await new Promise((resolve) => outer.listen(0, '127.0.0.1', resolve));
serveBench({ url: `http://127.0.0.1:${outer.address().port}`, caPath: ca.paths.cert, stats: () => ({ captured: 0, leaves: leaves.size }) });
