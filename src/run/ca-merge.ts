/**
 * Keeps the CA files the user's environment already names. If NODE_EXTRA_CA_CERTS or a bundle
 * variable (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, CURL_CA_BUNDLE) points at a file of their own —
 * a corporate CA, say — replacing it with ours would break the hosts they reach directly
 * (NO_PROXY). So the child gets a per-run copy of their file with our CA appended.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SYSTEM_CA_BUNDLE } from '../proxy/upstream-agents.js';

const CA_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE'] as const;
/** Variables that replace the whole trust store: our bundle already starts with the system CAs. */
const BUNDLE_VARIABLES = new Set<string>(['REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']);

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
  const kept: string[] = [];
  let dir: string | undefined;
  let ourCa: string | undefined;
  for (const name of CA_VARIABLES) {
    const userFile = base[name];
    if (!userFile || [ours.caPath, ours.bundlePath].some((p) => path.resolve(p) === path.resolve(userFile))) continue;
    if (BUNDLE_VARIABLES.has(name) && path.resolve(userFile) === path.resolve(SYSTEM_CA_BUNDLE)) continue;
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
    kept.push(`${name} (${userFile})`);
  }
  if (kept.length) notes.push(`kept the CA files of your environment and added the oauth-lens CA: ${kept.join(', ')}`);
  return {
    env,
    notes,
    cleanup: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
