/**
 * Keeps the CA files the user's environment already names. If NODE_EXTRA_CA_CERTS or a bundle
 * variable (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, CURL_CA_BUNDLE) points at a file of their own —
 * a corporate CA, say — replacing it with ours would break the hosts they reach directly
 * (NO_PROXY). So the child gets a per-run copy of their file with our CA appended.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CA_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE'] as const;

export interface MergedCaFiles {
  /** Variables to override in the child's environment. */
  env: Record<string, string>;
  /** Notes for the user (which files were merged, which could not be read). */
  notes: string[];
  /** Removes the per-run directory. */
  cleanup(): void;
}

export function mergeUserCaFiles(base: NodeJS.ProcessEnv, ours: { caPath: string; bundlePath: string }): MergedCaFiles {
  const env: Record<string, string> = {};
  const notes: string[] = [];
  let dir: string | undefined;
  let ourCa: string | undefined;
  for (const name of CA_VARIABLES) {
    const userFile = base[name];
    if (!userFile || path.resolve(userFile) === path.resolve(ours.caPath) || path.resolve(userFile) === path.resolve(ours.bundlePath)) continue;
    let content: string;
    try {
      content = readFileSync(userFile, 'utf8');
    } catch {
      notes.push(`${name}=${userFile} cannot be read; the command uses oauth-lens's CA file instead`);
      continue;
    }
    ourCa ??= readFileSync(ours.caPath, 'utf8');
    dir ??= mkdtempSync(path.join(tmpdir(), 'oauth-lens-run-ca-'));
    const merged = path.join(dir, `${name.toLowerCase()}.pem`);
    writeFileSync(merged, `${content.trimEnd()}\n# oauth-lens local CA\n${ourCa.trim()}\n`, { mode: 0o644 });
    env[name] = merged;
    notes.push(`${name}: kept your ${userFile} and added the oauth-lens CA`);
  }
  return {
    env,
    notes,
    cleanup: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
