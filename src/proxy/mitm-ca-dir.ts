/**
 * http-mitm-proxy insists on loading a CA from `<sslCaDir>/certs/ca.pem` + `keys/ca.private.key` +
 * `keys/ca.public.key` at listen(), and would generate its own (0644 key, negative serials, no AKI) if absent.
 * We pre-seed a private copy of OUR CA there (dirs 0700, key 0600) so the library never creates anything.
 * Its leaf path is bypassed anyway (tunnel.ts terminates TLS itself).
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CertificateAuthority } from './ca.js';

export async function seedLibraryCaDir(ca: CertificateAuthority): Promise<string> {
  const dir = path.join(ca.paths.dir, '.http-mitm-proxy');
  const certsDir = path.join(dir, 'certs');
  const keysDir = path.join(dir, 'keys');
  for (const d of [dir, certsDir, keysDir]) {
    await fs.mkdir(d, { recursive: true, mode: 0o700 });
    await fs.chmod(d, 0o700);
  }
  const publicPem = crypto.createPublicKey(ca.keyPem).export({ type: 'spki', format: 'pem' }).toString();
  await writeIfChanged(path.join(certsDir, 'ca.pem'), ca.certPem, 0o644);
  await writeIfChanged(path.join(keysDir, 'ca.private.key'), ca.keyPem, 0o600);
  await writeIfChanged(path.join(keysDir, 'ca.public.key'), publicPem, 0o644);
  return dir;
}

async function writeIfChanged(file: string, data: string, mode: number): Promise<void> {
  const current = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (current !== data) await fs.writeFile(file, data, { mode });
  await fs.chmod(file, mode);
}
