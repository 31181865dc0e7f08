/**
 * How `export` and `curl` reach a running instance: --url/--token, else OAUTH_LENS_TOKEN and the
 * `?token=` of --url, else the state file `start` writes. Requests go to loopback only by default
 * and errors name the cause without echoing the token.
 */
import { readStateFile, type LensState } from '../server/state-file.js';

export interface InstanceFlags {
  url?: string;
  token?: string;
}

export interface Instance {
  origin: string;
  token: string;
}

export class InstanceError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function resolveInstance(
  flags: InstanceFlags,
  env: NodeJS.ProcessEnv = process.env,
  readState: () => LensState | undefined = readStateFile,
): Instance {
  const state = flags.url && (flags.token || env.OAUTH_LENS_TOKEN) ? undefined : readState();
  const rawUrl = flags.url ?? state?.uiUrl;
  if (!rawUrl) {
    throw new InstanceError('OAL_ERR_NO_INSTANCE', 'no running oauth-lens found: start it with `oauth-lens start`, or pass --url and --token');
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new InstanceError('OAL_ERR_BAD_URL', '--url is not a valid URL');
  }
  const token = flags.token || env.OAUTH_LENS_TOKEN || url.searchParams.get('token') || (flags.url ? undefined : state?.token);
  if (!token) throw new InstanceError('OAL_ERR_NO_TOKEN', 'no admin token: pass --token or set OAUTH_LENS_TOKEN');
  return { origin: url.origin, token };
}

/** GET `path` from the instance's admin API; returns the body text of a 2xx answer. */
export async function getFromInstance(instance: Instance, path: string, fetchImpl: typeof fetch = fetch): Promise<{ text: string; contentType: string }> {
  let response: Response;
  try {
    response = await fetchImpl(new URL(path, instance.origin), { headers: { Authorization: `Bearer ${instance.token}`, Accept: 'application/json, text/plain' } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new InstanceError('OAL_ERR_UNREACHABLE', `cannot reach oauth-lens at ${instance.origin}${cause ? ` (${cause})` : ''}: is it running?`);
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) {
    throw new InstanceError('OAL_ERR_UNAUTHORIZED', `oauth-lens at ${instance.origin} refused the admin token (HTTP ${response.status})`);
  }
  if (!response.ok) {
    let message = '';
    try {
      message = String((JSON.parse(text) as { error?: { message?: string }; message?: string }).error?.message ?? '');
    } catch {
      // not JSON
    }
    throw new InstanceError(response.status === 404 ? 'OAL_ERR_NOT_FOUND' : 'OAL_ERR_HTTP', `oauth-lens answered HTTP ${response.status}${message ? `: ${message}` : ''}`);
  }
  return { text, contentType: response.headers.get('content-type') ?? '' };
}
