// The upstream servers (an "IdP") in their own process, so that direct and proxied runs both cross
// process boundaries like a real backend → IdP call does. Prints {hosts:[{host,url}]} over IPC.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { CertificateAuthority } from '../dist/proxy/ca.js';

const [caDir, newHosts] = process.argv.slice(2);
// The "IdP" keeps RSA-2048 server keys, as most IdPs do (and as before oauth-lens's leaves became P-256):
// an existing leaf-key.pem is used as is by loadOrCreate.
fs.mkdirSync(caDir, { recursive: true, mode: 0o700 });
fs.writeFileSync(path.join(caDir, 'leaf-key.pem'), crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const ca = await CertificateAuthority.loadOrCreate(caDir);
const MIB = crypto.randomBytes(1024 * 1024);
const TOKEN_REPLY = JSON.stringify({ access_token: 'x'.repeat(900), token_type: 'Bearer', expires_in: 3600, id_token: 'y'.repeat(800) });

function handler(req, res) {
  req.on('data', () => {});
  req.on('end', () => {
    if (req.url === '/1mib') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MIB.length });
      return res.end(MIB);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(TOKEN_REPLY) });
    res.end(TOKEN_REPLY);
  });
}

const servers = [];
for (let i = 1; i <= 1 + Number(newHosts); i++) {
  const host = `127.0.0.${i}`;
  const leaf = ca.issueLeaf(host);
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem, keepAliveTimeout: 60_000 }, handler);
  await new Promise((r) => server.listen(0, host, r));
  servers.push({ host, url: `https://${host}:${server.address().port}` });
}
process.send({ hosts: servers, caPem: ca.certPem });
process.on('message', (m) => { if (m === 'stop') process.exit(0); });
