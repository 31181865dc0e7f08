/**
 * A throwaway certificate authority for the demo IdP and the test suites: one CA and one
 * server certificate for loopback (IP 127.0.0.1 plus host names). Nothing is written to disk
 * unless the caller does it; every process gets fresh keys.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface ServerTls {
  /** PEM of the CA that signed `certPem`; give it to whoever must trust the server. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface ServerTlsOptions {
  /** DNS names for the SAN, besides `localhost` (default ['idp.oauth-lens.test']). */
  hostnames?: string[];
  /** IP addresses for the SAN (default ['127.0.0.1']). */
  ips?: string[];
  commonName?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Issues a fresh CA and a server certificate valid for loopback and the given names. */
export function issueServerTls(options: ServerTlsOptions = {}): ServerTls {
  const hostnames = options.hostnames ?? ['idp.oauth-lens.test'];
  const ips = options.ips ?? ['127.0.0.1'];
  const caKeys = rsaKeyPair();
  const now = Date.now();

  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = positiveSerial();
  ca.validity.notBefore = new Date(now - DAY_MS);
  ca.validity.notAfter = new Date(now + 30 * DAY_MS);
  const caName = [{ name: 'commonName', value: 'oauth-lens throwaway test CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const leafKeys = rsaKeyPair();
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = leafKeys.publicKey;
  leaf.serialNumber = positiveSerial();
  leaf.validity.notBefore = new Date(now - DAY_MS);
  leaf.validity.notAfter = new Date(now + 30 * DAY_MS);
  leaf.setSubject([{ name: 'commonName', value: options.commonName ?? hostnames[0] ?? 'localhost' }]);
  leaf.setIssuer(ca.subject.attributes);
  const altNames = [
    ...[...new Set([...hostnames, 'localhost'])].map((value) => ({ type: 2, value })),
    ...ips.map((ip) => ({ type: 7, ip })),
  ];
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  leaf.sign(caKeys.privateKey, forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(leaf),
    keyPem: forge.pki.privateKeyToPem(leafKeys.privateKey),
  };
}

/** node:crypto generates RSA keys in native code (forge's pure-JS keygen takes seconds). */
function rsaKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const forgePublic = forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e);
  return { publicKey: forgePublic, privateKey: forgePrivate };
}

/** 16 random bytes with the top bit cleared, as hex: always a positive ASN.1 INTEGER. */
function positiveSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}
