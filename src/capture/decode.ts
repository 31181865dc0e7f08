/**
 * Decompressed copies of captured bodies, for inspection only: the forwarded bytes are never touched.
 * Never throws; output is capped so a zip bomb cannot exhaust memory. A truncated capture is decoded
 * as far as it goes (sync flush) and says so.
 */
import zlib from 'node:zlib';

/** Most bytes a decoded copy may hold. */
export const MAX_DECODED_BYTES = 8 * 1024 * 1024;

export interface DecodeResult {
  decoded?: Buffer;
  decodeError?: string;
}

/** Decode `bytes` sent with `Content-Encoding: encoding` (a comma list is decoded right to left). */
export function decodeBody(bytes: Buffer, encoding: string | undefined, truncated = false): DecodeResult {
  const codings = (encoding ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c && c !== 'identity');
  if (codings.length === 0 || bytes.length === 0) return {};
  let data = bytes;
  try {
    for (const coding of codings.reverse()) data = decodeOne(data, coding, truncated);
  } catch (err) {
    return { decodeError: describe(err) };
  }
  return truncated ? { decoded: data, decodeError: 'body truncated at the capture limit; decoded copy is partial' } : { decoded: data };
}

function decodeOne(data: Buffer, coding: string, truncated: boolean): Buffer {
  const flush = truncated ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {};
  const limit = { maxOutputLength: MAX_DECODED_BYTES };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(data, { ...flush, ...limit });
    case 'deflate':
      // RFC 9110 says zlib-wrapped, but some servers send raw deflate.
      try {
        return zlib.inflateSync(data, { ...flush, ...limit });
      } catch {
        return zlib.inflateRawSync(data, { ...flush, ...limit });
      }
    case 'br':
      return zlib.brotliDecompressSync(data, {
        ...(truncated ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {}),
        ...limit,
      });
    default:
      throw new Error(`unsupported content-encoding ${coding.slice(0, 32)}`);
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ERR_BUFFER_TOO_LARGE') return `decoded body larger than ${MAX_DECODED_BYTES} bytes`;
  const message = e instanceof Error ? e.message : String(err);
  return message.slice(0, 120);
}
