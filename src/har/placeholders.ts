/**
 * Environment-variable names for redacted secrets in a generated command: one variable per
 * distinct (name, fingerprint), named after what the value is (`$AUTH_CODE`, `$CLIENT_SECRET`).
 */
import type { Marker } from './markers.js';

const WELL_KNOWN: Record<string, string> = {
  client_secret: 'CLIENT_SECRET',
  secret: 'CLIENT_SECRET',
  password: 'CLIENT_SECRET',
  code: 'AUTH_CODE',
  code_verifier: 'CODE_VERIFIER',
  refresh_token: 'REFRESH_TOKEN',
  access_token: 'ACCESS_TOKEN',
  authorization: 'ACCESS_TOKEN',
  bearer: 'ACCESS_TOKEN',
  id_token: 'ID_TOKEN',
  id_token_hint: 'ID_TOKEN',
  client_assertion: 'CLIENT_ASSERTION',
  assertion: 'ASSERTION',
  device_code: 'DEVICE_CODE',
  dpop: 'DPOP_PROOF',
  token: 'TOKEN',
  subject_token: 'SUBJECT_TOKEN',
  actor_token: 'ACTOR_TOKEN',
  client_id: 'CLIENT_ID',
};

/** Names a shell or the user's session already gives meaning to. */
const RESERVED = new Set([
  'PATH', 'HOME', 'IFS', 'PS1', 'PS2', 'PS4', 'PWD', 'OLDPWD', 'SHELL', 'USER', 'LANG', 'TERM', 'CDPATH',
  'ENV', 'BASH_ENV', 'HOSTNAME', 'UID', 'EUID', 'PPID', 'RANDOM', 'SECONDS', 'LINENO', 'OPTIND', 'OPTARG',
  'MAIL', 'MAILPATH', 'TMPDIR', 'LOGNAME', 'DISPLAY', 'SHLVL', 'HISTFILE', 'PROMPT_COMMAND', 'TZ',
]);

export interface Placeholder {
  variable: string;
  /** Redacted length of the value, as the marker states it. */
  length: number;
  /** Where it goes, for the comment: `form`, `header`, `url`, `body`, `basic`. */
  places: Set<string>;
}

export function variableFor(name: string): string {
  const lower = name.toLowerCase();
  const known = WELL_KNOWN[lower];
  if (known) return known;
  const cookie = /^cookie:(.*)$/.exec(lower);
  let base = (cookie ? `COOKIE_${cookie[1]}` : lower).toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (!base) base = 'SECRET';
  if (/^[0-9]/.test(base) || RESERVED.has(base) || base.startsWith('BASH')) base = `OAUTH_${base}`;
  return base.slice(0, 64);
}

export class PlaceholderSet {
  #byValue = new Map<string, Placeholder>();
  #taken = new Set<string>();

  /** The variable for this marker; the same secret (name and fp) always gets the same one. */
  variableOf(marker: Marker, place: string): string {
    const key = `${marker.name.toLowerCase()}\0${marker.fp}`;
    let placeholder = this.#byValue.get(key);
    if (!placeholder) {
      const base = variableFor(marker.name);
      let variable = base;
      for (let n = 2; this.#taken.has(variable); n++) variable = `${base}_${n}`;
      this.#taken.add(variable);
      placeholder = { variable, length: marker.length, places: new Set() };
      this.#byValue.set(key, placeholder);
    }
    placeholder.places.add(place);
    return placeholder.variable;
  }

  /** Reserves a variable that is not tied to a marker (e.g. `CLIENT_ID` for a hidden Basic username). */
  reserve(variable: string, place: string, length = -1): string {
    const key = `\0reserved\0${variable}`;
    const existing = this.#byValue.get(key);
    if (existing) return existing.variable;
    let name = variable;
    for (let n = 2; this.#taken.has(name); n++) name = `${variable}_${n}`;
    this.#taken.add(name);
    this.#byValue.set(key, { variable: name, length, places: new Set([place]) });
    return name;
  }

  list(): Placeholder[] {
    return [...this.#byValue.values()];
  }
}
