/**
 * The local CA and its leaves: file modes, RFC 5280 details, strict validators (openssl -x509_strict,
 * Python's strict default context through the live proxy), reuse, regeneration and the bounded leaf cache.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, LEAF_VALIDITY_DAYS } from '../../src/proxy/ca.js';
import { LeafCache } from '../../src/proxy/leaf-cache.js';
import { run, startTestLens, type TestLens } from './support/lens.js';
import { createTestCa, startHttpsUpstream, tmpDir, type Upstream } from './support/upstream.js';

let dir: string;
let ca: CertificateAuthority;

beforeAll(async () => {
  dir = tmpDir('ca');
  ca = await CertificateAuthority.loadOrCreate(dir);
});

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('CA files', () => {
  it('creates ca.pem, ca-key.pem (0600) and leaf-key.pem (0600)', () => {
    expect(ca.created).toBe(true);
    expect(mode(path.join(dir, 'ca-key.pem'))).toBe(0o600);
    expect(mode(path.join(dir, 'leaf-key.pem'))).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('is reused on the next start, and a loosened key mode is tightened', async () => {
    fs.chmodSync(path.join(dir, 'ca-key.pem'), 0o644);
    const again = await CertificateAuthority.loadOrCreate(dir);
    expect(again.created).toBe(false);
    expect(again.fingerprint256).toBe(ca.fingerprint256);
    expect(mode(path.join(dir, 'ca-key.pem'))).toBe(0o600);
  });

  it('--regenerate replaces it', async () => {
    const other = tmpDir('ca-regen');
    const first = await CertificateAuthority.loadOrCreate(other);
    const second = await CertificateAuthority.loadOrCreate(other, { regenerate: true });
    expect(second.created).toBe(true);
    expect(second.fingerprint256).not.toBe(first.fingerprint256);
  });

  it('a key that does not match the certificate is rejected with a stable code', async () => {
    const other = tmpDir('ca-mismatch');
    await CertificateAuthority.loadOrCreate(other);
    fs.copyFileSync(path.join(dir, 'ca-key.pem'), path.join(other, 'ca-key.pem'));
    await expect(CertificateAuthority.loadOrCreate(other)).rejects.toMatchObject({ code: 'OAL_ERR_CA_INVALID' });
  });

  it('has critical basicConstraints and keyUsage, SKI = AKI, a positive serial', () => {
    const x = new crypto.X509Certificate(ca.certPem);
    expect(x.ca).toBe(true);
    const first = Buffer.from(x.serialNumber, 'hex')[0]!;
    expect(first & 0x80).toBe(0);
    expect(x.fingerprint256).toBe(ca.fingerprint256);
  });

  it('openssl sees the extensions as strict clients need them', async () => {
    const { stdout } = await run('openssl', ['x509', '-noout', '-text', '-in', path.join(dir, 'ca.pem')], { encoding: 'utf8' });
    expect(stdout).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(stdout).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(stdout).toContain('Subject Key Identifier');
    expect(stdout).toContain('Authority Key Identifier');
    expect(stdout).not.toContain('(Negative)');
  });
});

describe('leaf certificates', () => {
  it('pass openssl verify -x509_strict for DNS names and IPs', async () => {
    const leafDir = tmpDir('leaves');
    const files = ['oauth.test', '127.0.0.2', 'login.example.com'].map((host) => {
      const file = path.join(leafDir, `${host}.pem`);
      fs.writeFileSync(file, ca.issueLeaf(host).certPem);
      return file;
    });
    const { stdout } = await run('openssl', ['verify', '-x509_strict', '-CAfile', path.join(dir, 'ca.pem'), ...files], { encoding: 'utf8' });
    expect(stdout.trim().split('\n')).toEqual(files.map((f) => `${f}: OK`));
  });

  it('have SAN, serverAuth, AKI, a positive serial and validity ≤ 397 days; one shared key', async () => {
    const leaf = ca.issueLeaf('oauth.test');
    const x = new crypto.X509Certificate(leaf.certPem);
    expect(x.subjectAltName).toBe('DNS:oauth.test');
    expect(x.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(x.ca).toBe(false);
    const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
    expect(days).toBeLessThanOrEqual(397);
    expect(days).toBeGreaterThanOrEqual(LEAF_VALIDITY_DAYS);
    expect(Date.parse(x.validFrom)).toBeLessThan(Date.now() - 3_600_000); // backdated
    expect(Buffer.from(x.serialNumber, 'hex')[0]! & 0x80).toBe(0);
    expect(x.checkIssued(new crypto.X509Certificate(ca.certPem))).toBe(true);
    const other = new crypto.X509Certificate(ca.issueLeaf('127.0.0.9').certPem);
    expect(other.subjectAltName).toBe('IP Address:127.0.0.9');
    expect(other.publicKey.export({ type: 'spki', format: 'der' }).equals(x.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    const file = path.join(tmpDir('leaf'), 'leaf.pem');
    fs.writeFileSync(file, leaf.certPem);
    const { stdout } = await run('openssl', ['x509', '-noout', '-text', '-in', file], { encoding: 'utf8' });
    expect(stdout).toContain('Authority Key Identifier');
    expect(stdout).toContain('TLS Web Server Authentication');
  });

  it('the cache is a bounded LRU and re-uses contexts', () => {
    const cache = new LeafCache(ca, 3);
    const a = cache.contextFor('a.test');
    expect(cache.contextFor('A.TEST')).toBe(a);
    cache.contextFor('b.test');
    cache.contextFor('c.test');
    cache.contextFor('d.test');
    expect(cache.size).toBe(3);
    expect(cache.issued).toBe(4);
    expect(cache.contextFor('a.test')).not.toBe(a); // evicted, signed again
    expect(cache.issued).toBe(5);
  });

  it('a context made ahead with the key (spare) and one made on the spot both serve the host\'s leaf', async () => {
    const cache = new LeafCache(ca);
    cache.prepareSpare();
    // The first new host takes the spare; the second one, in the same turn (before any refill), is made the
    // ordinary way.
    const hosts = ['spare.test', 'ordinary.test'];
    const contexts = hosts.map((host) => cache.contextFor(host));
    for (const [i, host] of hosts.entries()) {
      const presented = await handshake(contexts[i]!, host);
      expect(presented.subjectAltName).toBe(`DNS:${host}`);
      expect(presented.checkIssued(new crypto.X509Certificate(ca.certPem))).toBe(true);
    }
  });
});

/** A real TLS handshake against `context`, trusting the CA; resolves with the certificate presented. */
async function handshake(context: import('node:tls').SecureContext, servername: string): Promise<crypto.X509Certificate> {
  const tls = await import('node:tls');
  const server = tls.createServer({ SNICallback: (_name, cb) => cb(null, context) }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as import('node:net').AddressInfo;
    return await new Promise((resolve, reject) => {
      const client = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.certPem }, () => {
        const cert = client.getPeerX509Certificate();
        client.destroy();
        if (cert) resolve(cert);
        else reject(new Error('no certificate'));
      });
      client.on('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('strict clients through the live proxy', () => {
  let lens: TestLens;
  let upstream: Upstream;

  beforeAll(async () => {
    const upstreamCa = await createTestCa();
    const caFile = path.join(tmpDir('upca'), 'ca.pem');
    fs.writeFileSync(caFile, upstreamCa.certPem);
    upstream = await startHttpsUpstream({ ca: upstreamCa });
    lens = await startTestLens({ upstreamCaFiles: [caFile] });
  });

  afterAll(async () => {
    await lens?.close();
    await upstream?.close();
  });

  it('Python ssl.create_default_context() with VERIFY_X509_STRICT accepts the leaf', async () => {
    const script = [
      'import ssl, socket, sys',
      'proxy_port, host, port, cafile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]',
      'ctx = ssl.create_default_context(cafile=cafile)',
      'ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13 default; explicit on older versions',
      's = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)',
      's.sendall(f"CONNECT {host}:{port} HTTP/1.1\\r\\nHost: {host}:{port}\\r\\n\\r\\n".encode())',
      'assert s.recv(4096).startswith(b"HTTP/1.1 200")',
      't = ctx.wrap_socket(s, server_hostname=host)',
      't.sendall(f"GET /strict HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nConnection: close\\r\\n\\r\\n".encode())',
      'print(t.recv(4096).split(b"\\r\\n")[0].decode())',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script, String(lens.proxy.port), '127.0.0.1', String(upstream.port), lens.ca.paths.cert], { encoding: 'utf8' });
    expect(stdout.trim()).toBe('HTTP/1.1 200 OK');
  });

  it('a client that does not trust our CA fails the handshake and the proxy keeps serving', async () => {
    await expect(run('curl', ['-sS', '--max-time', '5', '-x', lens.proxy.url, `${upstream.url}/untrusted`])).rejects.toThrow(/certificate/i);
    const { stdout } = await run('curl', ['-sS', '--max-time', '5', '-x', lens.proxy.url, '--cacert', lens.ca.paths.cert, '-o', '/dev/null', '-w', '%{http_code}', `${upstream.url}/ok`], { encoding: 'utf8' });
    expect(stdout).toBe('200');
  });
});
