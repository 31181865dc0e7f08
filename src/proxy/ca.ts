/**
 * The local certificate authority: `<certs>/ca.pem`, `<certs>/ca-key.pem` (0600) and the one leaf key
 * `<certs>/leaf-key.pem` (0600) shared by every per-host certificate, so a new host costs a signature
 * (about a millisecond with node:crypto), never a key generation.
 * The leaf key is ECDSA P-256 (an RSA one from older installs keeps working): every TLS handshake with a
 * client signs with it, ~0.06 ms instead of ~0.5 ms for RSA-2048. The CA stays RSA-2048.
 * node-forge builds the certificate fields; node:crypto signs (forge's pure-JS RSA is slow). forge cannot
 * hold an EC public key, so the leaf's SubjectPublicKeyInfo is put into the to-be-signed DER by us.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import net from 'node:net';
import forge from 'node-forge';
import { LensError } from './errors.js';

const { pki } = forge;
const generateKeyPair = promisify(crypto.generateKeyPair);

const DAY_MS = 86_400_000;
/** Leaves are valid 90 days (+1 day backdated): well under the 397-day limit clients enforce. */
export const LEAF_VALIDITY_DAYS = 90;
const CA_VALIDITY_YEARS = 10;
/** DER prefix of a SHA-256 DigestInfo: forge hands us the digest, node:crypto pads and signs it. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export interface CaPaths {
  dir: string;
  cert: string;
  key: string;
  leafKey: string;
}

export function caPaths(certsDir: string): CaPaths {
  const dir = path.resolve(certsDir);
  return {
    dir,
    cert: path.join(dir, 'ca.pem'),
    key: path.join(dir, 'ca-key.pem'),
    leafKey: path.join(dir, 'leaf-key.pem'),
  };
}

export interface IssuedLeaf {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export class CertificateAuthority {
  readonly paths: CaPaths;
  readonly certPem: string;
  /** PEM of the CA private key; only handed to http-mitm-proxy's private CA dir (see mitm-ca-dir.ts). */
  readonly keyPem: string;
  readonly leafKeyPem: string;
  /** True when this call created the CA (first start or --regenerate). */
  readonly created: boolean;
  #caCert: forge.pki.Certificate;
  #caKey: crypto.KeyObject;
  /** The public key forge writes into the TBS: the RSA leaf key, or a placeholder replaced by `#leafSpki`. */
  #leafPublicKey: forge.pki.PublicKey;
  /** SubjectPublicKeyInfo of an EC leaf key (forge cannot encode one). */
  #leafSpki: forge.asn1.Asn1 | undefined;
  /** Subject key identifier of the leaf key, computed once (binary string). */
  #leafKeyId: string;
  #leafIsEc: boolean;
  #caKeyId: string;

  private constructor(paths: CaPaths, certPem: string, keyPem: string, leafKeyPem: string, created: boolean) {
    this.paths = paths;
    this.certPem = certPem;
    this.keyPem = keyPem;
    this.leafKeyPem = leafKeyPem;
    this.created = created;
    try {
      this.#caCert = pki.certificateFromPem(certPem);
      this.#caKey = crypto.createPrivateKey(keyPem);
      const leafKey = crypto.createPrivateKey(leafKeyPem);
      const leafSpki = crypto.createPublicKey(leafKey).export({ type: 'spki', format: 'der' });
      this.#leafIsEc = leafKey.asymmetricKeyType === 'ec';
      if (this.#leafIsEc) {
        this.#leafPublicKey = this.#caCert.publicKey; // placeholder, replaced in the TBS
        this.#leafSpki = forge.asn1.fromDer(leafSpki.toString('binary'));
        // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (the EC point).
        const point = (this.#leafSpki.value as forge.asn1.Asn1[])[1]!.value as string;
        this.#leafKeyId = crypto.createHash('sha1').update(Buffer.from(point, 'binary').subarray(1)).digest('binary');
      } else {
        this.#leafPublicKey = pki.publicKeyFromAsn1(forge.asn1.fromDer(leafSpki.toString('binary')));
        this.#leafKeyId = pki.getPublicKeyFingerprint(this.#leafPublicKey, { type: 'RSAPublicKey' }).getBytes();
      }
    } catch (err) {
      throw new LensError('OAL_ERR_CA_INVALID', `cannot read the CA in ${paths.dir}: ${(err as Error).message}`, { cause: err });
    }
    this.#caKeyId = this.#caCert.generateSubjectKeyIdentifier().getBytes();
    const certKey = crypto.createPublicKey(certPem).export({ type: 'spki', format: 'der' });
    const ownKey = crypto.createPublicKey(this.#caKey).export({ type: 'spki', format: 'der' });
    if (!certKey.equals(ownKey)) {
      throw new LensError('OAL_ERR_CA_INVALID', `${paths.key} does not belong to ${paths.cert}; run \`oauth-lens ca --regenerate\``);
    }
  }

  /** Load `<certsDir>/ca.pem` + `ca-key.pem` (+ leaf key), creating whatever is missing. Key generation is async. */
  static async loadOrCreate(certsDir: string, options: { regenerate?: boolean } = {}): Promise<CertificateAuthority> {
    const paths = caPaths(certsDir);
    await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
    let created = false;
    if (options.regenerate || !(await exists(paths.cert)) || !(await exists(paths.key))) {
      const { certPem, keyPem } = await createCa();
      await writePrivate(paths.key, keyPem);
      await writePublic(paths.cert, certPem);
      created = true;
    }
    if (!(await exists(paths.leafKey))) {
      await writePrivate(paths.leafKey, await createLeafKeyPem());
    }
    // A key left readable by others (copied, restored from backup) is tightened, not trusted as is.
    await fs.chmod(paths.key, 0o600);
    await fs.chmod(paths.leafKey, 0o600);
    const [certPem, keyPem, leafKeyPem] = await Promise.all([
      fs.readFile(paths.cert, 'utf8'), fs.readFile(paths.key, 'utf8'), fs.readFile(paths.leafKey, 'utf8'),
    ]);
    return new CertificateAuthority(paths, certPem, keyPem, leafKeyPem, created);
  }

  /** SHA-256 fingerprint of the CA certificate, colon-separated hex as openssl prints it. */
  get fingerprint256(): string {
    return certificateFingerprint256(this.certPem);
  }

  /** Sign a certificate for `host` (a DNS name or an IP literal) with the shared leaf key. */
  issueLeaf(host: string, now: Date = new Date()): IssuedLeaf {
    const cert = pki.createCertificate();
    cert.publicKey = this.#leafPublicKey;
    cert.serialNumber = randomPositiveSerial();
    cert.validity.notBefore = new Date(now.getTime() - DAY_MS);
    cert.validity.notAfter = new Date(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS);
    const ip = net.isIP(host) !== 0;
    // CN only for names short enough (64 chars max); SAN is what clients check.
    cert.setSubject(host.length <= 64 ? [{ name: 'commonName', value: host }] : [{ name: 'organizationName', value: 'oauth-lens' }]);
    cert.setIssuer(this.#caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      // keyEncipherment only means something for an RSA key (RFC 5480 §3 for EC keys).
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: !this.#leafIsEc, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectKeyIdentifier', value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, this.#leafKeyId) },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.#caKeyId },
      { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }] },
    ]);
    return { certPem: this.#signLeaf(cert), keyPem: this.leafKeyPem, notAfter: cert.validity.notAfter };
  }

  /** DER of the TBS (with the EC key spliced in), signed natively by the CA (sha256WithRSAEncryption). */
  #signLeaf(cert: forge.pki.Certificate): string {
    const { asn1 } = forge;
    const sigAlg = pki.oids.sha256WithRSAEncryption!;
    cert.siginfo.algorithmOid = sigAlg;
    cert.signatureOid = sigAlg;
    const tbs = (pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
    // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
    if (this.#leafSpki) (tbs.value as forge.asn1.Asn1[])[6] = this.#leafSpki;
    const tbsDer = asn1.toDer(tbs).getBytes();
    const signature = crypto.sign('sha256', Buffer.from(tbsDer, 'binary'), this.#caKey).toString('binary');
    const algorithm = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(sigAlg).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]);
    const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      tbs, algorithm, asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature}`),
    ]);
    const base64 = Buffer.from(asn1.toDer(certificate).getBytes(), 'binary').toString('base64');
    return `-----BEGIN CERTIFICATE-----\r\n${base64.replace(/.{64}/g, '$&\r\n').replace(/\r\n$/, '')}\r\n-----END CERTIFICATE-----\r\n`;
  }
}

export function certificateFingerprint256(pem: string): string {
  return new crypto.X509Certificate(pem).fingerprint256;
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  const keyPem = await createRsaKeyPem();
  const key = crypto.createPrivateKey(keyPem);
  const publicPem = crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(publicPem);
  cert.serialNumber = randomPositiveSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + CA_VALIDITY_YEARS * 365 * DAY_MS);
  // A per-install name, so two installs' CAs are told apart in trust stores.
  const attrs = [
    { name: 'commonName', value: `oauth-lens local CA ${os.hostname().slice(0, 20)} ${crypto.randomBytes(3).toString('hex')}` },
    { name: 'organizationName', value: 'oauth-lens' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  const keyId = cert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyId },
  ]);
  cert.sign(nodeSigner(key) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem };
}

async function createLeafKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function createRsaKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** forge's `cert.sign(key, md)` only calls `key.sign(md)`: do that RSA operation natively. */
function nodeSigner(key: crypto.KeyObject): { sign(md: forge.md.MessageDigest): string } {
  return {
    sign(md) {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const signature = crypto.privateEncrypt(
        { key, padding: crypto.constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, digest]),
      );
      return signature.toString('binary');
    },
  };
}

/** 16 random bytes with the top bit clear and non-zero first byte: positive and full length (RFC 5280 §4.1.2.2). */
function randomPositiveSerial(): string {
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial.toString('hex');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Write via a temp file + rename so a crash never leaves half a key; mode 0600 from creation on. */
async function writePrivate(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, data, { mode: 0o600 });
  await fs.chmod(tmp, 0o600);
  await fs.rename(tmp, file);
}

async function writePublic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, data, { mode: 0o644 });
  await fs.rename(tmp, file);
}
