/** Every way a secret could hide in an export: raw, URL/form/double encoded, JSON-escaped, base64 at any alignment. */
export function encodingsOf(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out = new Set<string>([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ v: secret }).toString().slice(2),
    encodeURIComponent(encodeURIComponent(secret)),
    JSON.stringify(secret).slice(1, -1),
  ]);
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift, 0x41), bytes]).toString('base64');
    // Only the characters whose 6 bits all come from the secret are stable wherever it sits.
    const core = b64.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6));
    if (core.length >= 12) {
      out.add(core);
      out.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out].filter((e) => e.length >= 8);
}

/** The secrets (by index) any of whose encodings occurs in `text`. */
export function leakedIn(text: string, secrets: string[]): string[] {
  return secrets.filter((secret) => encodingsOf(secret).some((e) => text.includes(e))).map((s) => `${s.slice(0, 6)}… (len ${s.length})`);
}
