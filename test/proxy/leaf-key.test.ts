/**
 * Leaf key type: new installs get an ECDSA P-256 leaf key (cheap handshakes); a certs/ dir from an older
 * version, with an RSA leaf-key.pem, keeps working unchanged. Both pass openssl -x509_strict and a real TLS
 * handshake with Node's verifier.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../src/proxy/ca.js';
import { run } from './support/lens.js';
import { tmpDir } from './support/upstream.js';

async function handshake(ca: CertificateAuthority, host: string): Promise<tls.PeerCertificate> {
  const leaf = ca.issueLeaf(host);
  const server = tls.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    return await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: host, ca: ca.certPem }, () => {
        resolve(socket.getPeerCertificate());
        socket.destroy();
      });
      socket.on('error', reject);
    });
  } finally {
    server.close();
  }
}

async function strictVerify(ca: CertificateAuthority, host: string): Promise<string> {
  const file = path.join(tmpDir('leafkey-pem'), 'leaf.pem');
  fs.writeFileSync(file, ca.issueLeaf(host).certPem);
  const { stdout } = await run('openssl', ['verify', '-x509_strict', '-CAfile', ca.paths.cert, file], { encoding: 'utf8' });
  return stdout.trim();
}

describe('leaf key', () => {
  it('is P-256 for a new certs dir; leaves carry that key, digitalSignature only, SKI of the EC point', async () => {
    const ca = await CertificateAuthority.loadOrCreate(tmpDir('leafkey-ec'));
    expect(crypto.createPrivateKey(ca.leafKeyPem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const x = new crypto.X509Certificate(ca.issueLeaf('oauth.test').certPem);
    expect(x.publicKey.asymmetricKeyType).toBe('ec');
    const file = path.join(tmpDir('leafkey-ext'), 'leaf.pem');
    fs.writeFileSync(file, x.toString());
    const { stdout } = await run('openssl', ['x509', '-noout', '-in', file, '-ext', 'keyUsage,subjectKeyIdentifier'], { encoding: 'utf8' });
    expect(stdout).toMatch(/Key Usage: critical\s+Digital Signature\s*\n/);
    const point = x.publicKey.export({ type: 'spki', format: 'der' }).subarray(-65);
    const ski = crypto.createHash('sha1').update(point).digest('hex').toUpperCase().match(/../g)!.join(':');
    expect(stdout).toContain(ski);
    expect(await strictVerify(ca, 'oauth.test')).toMatch(/: OK$/);
    expect((await handshake(ca, 'oauth.test')).subjectaltname).toBe('DNS:oauth.test');
  });

  it('an existing RSA leaf-key.pem (older installs) is kept and used', async () => {
    const dir = tmpDir('leafkey-rsa');
    fs.mkdirSync(dir, { recursive: true });
    const rsaPem = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    fs.writeFileSync(path.join(dir, 'leaf-key.pem'), rsaPem, { mode: 0o600 });
    const ca = await CertificateAuthority.loadOrCreate(dir);
    expect(ca.leafKeyPem).toBe(rsaPem);
    const x = new crypto.X509Certificate(ca.issueLeaf('127.0.0.7').certPem);
    expect(x.publicKey.asymmetricKeyType).toBe('rsa');
    expect(await strictVerify(ca, '127.0.0.7')).toMatch(/: OK$/);
    expect((await handshake(ca, 'rsa.test')).subjectaltname).toBe('DNS:rsa.test');
  });
});
