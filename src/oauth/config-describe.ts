/** What a validated config enables, in words (for `oauth-lens config check`). */
import { CATALOGUE, FINDING_CODES } from './catalogue.js';
import { DEFAULT_THRESHOLDS, type LensConfig, type Thresholds } from './config.js';

export function describeConfig(config: LensConfig): { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  const usesConfig = FINDING_CODES.filter((c) => 'config' in CATALOGUE[c]);
  lines.push(`Config is valid: ${config.clients.length} client(s), ${config.tokenEndpoints.length} extra token endpoint(s).`);
  lines.push(`All ${FINDING_CODES.length} finding codes run without a config; ${usesConfig.length} of them diagnose more precisely with one. This file adds:`);
  for (const client of config.clients) {
    lines.push(`- client "${client.name}" (client_id ${client.clientId}):`);
    const add = (text: string) => lines.push(`    • ${text}`);
    if (client.redirectUris?.length) {
      add(`redirect_uri.not_registered + trailing_slash/scheme/host/case/path diagnosis against ${client.redirectUris.length} registered redirect URI(s): ${client.redirectUris.join(', ')}`);
      for (const uri of client.redirectUris) {
        if (uri.startsWith('http://') && !/^http:\/\/(localhost|127\.|\[::1\])/.test(uri)) warnings.push(`clients "${client.name}": redirect URI ${uri} uses http on a non-loopback host (redirect_uri.unsafe_form will fire)`);
        if (uri.includes('#')) warnings.push(`clients "${client.name}": redirect URI ${uri} contains a fragment, which RFC 6749 §3.1.2 forbids`);
      }
    }
    if (client.scopes?.length) add(`scope.invalid for any requested scope outside: ${client.scopes.join(' ')}`);
    if (client.secretSha256?.length) {
      add(`client.authentication_failed #wrong_secret, client.env_mismatch (secret of another client/environment) and client_credentials.suspicious_value (secret + whitespace/newline) using ${client.secretSha256.length} secret fingerprint(s)`);
    }
    if (client.authMethod || client.type) add(`client_auth.method_mismatch against ${[client.authMethod, client.type].filter(Boolean).join(' / ')}`);
    if (client.issuer) add(`client.env_mismatch and code.redeemed_at_wrong_issuer for traffic of this client to an issuer other than ${client.issuer}`);
    if (!client.redirectUris?.length && !client.scopes?.length && !client.secretSha256?.length && !client.authMethod && !client.type && !client.issuer) {
      add('nothing beyond naming the client (add redirectUris, scopes or secretSha256)');
    }
  }
  const shas = new Map<string, string>();
  for (const client of config.clients) {
    for (const sha of client.secretSha256 ?? []) {
      const other = shas.get(sha);
      if (other && other !== client.name) warnings.push(`clients "${other}" and "${client.name}" share a secret fingerprint: environment mix-ups between them cannot be told apart`);
      shas.set(sha, client.name);
    }
  }
  if (config.tokenEndpoints.length) lines.push(`- token endpoints recognised without heuristics: ${config.tokenEndpoints.join(', ')}`);
  const changed = (Object.keys(DEFAULT_THRESHOLDS) as Array<keyof Thresholds>)
    .filter((k) => JSON.stringify(config.thresholds[k]) !== JSON.stringify(DEFAULT_THRESHOLDS[k]))
    .map((k) => `${k}=${JSON.stringify(config.thresholds[k])} (default ${JSON.stringify(DEFAULT_THRESHOLDS[k])})`);
  lines.push(changed.length ? `- thresholds changed: ${changed.join('; ')}` : '- thresholds: defaults');
  return { lines, warnings };
}
