/**
 * Follows one direction of an HTTP/1.x byte stream without touching it: the tunnel relay forwards the bytes
 * and feeds a copy here, so what the capture says was sent is what was sent. The parser is Node's own
 * (llhttp, through `node:_http_common`), the one every Node client and server uses: fast, and it reads
 * framing exactly as they do. Where the module is missing (a future Node), `HttpObserver.available` is false
 * and tunnels take the request relay instead.
 */
import { createRequire } from 'node:module';

export interface MessageHead {
  /** Requests only. */
  method?: string;
  url?: string;
  /** Responses only. */
  status?: number;
  statusText?: string;
  httpVersion: string;
  /** Header names and values in arrival order, as Node's `rawHeaders`. */
  rawHeaders: string[];
  /** The message asks to switch protocols (Upgrade), or is a 101. */
  upgrade: boolean;
}

/** What the observer should do with the rest of a message whose head it just reported. */
export type HeadVerdict =
  /** Parse its body by its own framing (the default). */
  | 'body'
  /** No body follows whatever the headers say (the response to a HEAD request). */
  | 'no-body'
  /** The stream stops being HTTP after this head (101, a 2xx to CONNECT): stop parsing. */
  | 'switch';

export interface MessageEvents {
  /** The first byte of a message was seen (its head may still be incomplete). Optional: each callback costs a native-to-JS call. */
  begin?(): void;
  head(head: MessageHead): HeadVerdict;
  body(chunk: Buffer): void;
  complete(): void;
}

interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(chunk: Buffer): number | Error;
  finish(): Error | undefined;
  close(): void;
  [key: number]: unknown;
}

interface NativeParserClass {
  new (): NativeParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

const common = ((): { HTTPParser?: NativeParserClass; methods?: string[] } => {
  try {
    return createRequire(import.meta.url)('_http_common') as { HTTPParser?: NativeParserClass; methods?: string[] };
  } catch {
    return {};
  }
})();
const Parser = typeof common.HTTPParser === 'function' && Array.isArray(common.methods) ? common.HTTPParser : undefined;
const METHODS = common.methods ?? [];

/** Header blocks up to this size are followed (Node's servers stop at 16 KiB; we observe, not enforce). */
const MAX_HEADER_BYTES = 64 * 1024;

/** llhttp's skip-body and upgrade answers to on_headers_complete. */
const VERDICT_CODE: Record<HeadVerdict, number> = { body: 0, 'no-body': 1, switch: 2 };

/**
 * A Content-Length body at least this long is sliced from the stream here instead of by llhttp, which hands
 * each body piece over as a fresh copy (~2.3 ms of CPU per MiB relayed, measured). Below it the copy is cheaper
 * than restarting the parser.
 */
const SLICE_BODY_FROM = 4096;

export class HttpObserver {
  static readonly available = Parser !== undefined;
  #parser: NativeParser;
  #type: number;
  #events: MessageEvents;
  /** No more bytes are parsed (a protocol switch, or `close`). */
  #stopped = false;
  /** Callbacks are ignored from now on; the parser is freed once it is not executing. */
  #closed = false;
  #executing = false;
  /** Body bytes still to slice from the stream ourselves (see SLICE_BODY_FROM). */
  #bodyLeft = 0;
  /** The head just parsed has a body we slice: llhttp stops after it and its completion is ours to report. */
  #slicing = false;

  constructor(kind: 'request' | 'response', events: MessageEvents) {
    if (!Parser) throw new Error('HTTP observer unavailable on this Node');
    this.#events = events;
    this.#type = kind === 'request' ? Parser.REQUEST : Parser.RESPONSE;
    const parser = new Parser();
    parser.initialize(this.#type, {}, MAX_HEADER_BYTES, 0);
    if (events.begin) {
      const begin = events.begin.bind(events);
      parser[Parser.kOnMessageBegin] = () => {
        if (!this.#closed) begin();
      };
    }
    // Long header blocks arrive in parts before on_headers_complete (Node's parserOnHeaders does the same).
    let partHeaders: string[] = [];
    let partUrl = '';
    parser[Parser.kOnHeaders] = (headers: string[], url: string) => {
      if (this.#closed) return;
      partHeaders = partHeaders.concat(headers);
      partUrl += url;
    };
    parser[Parser.kOnHeadersComplete] = (
      major: number, minor: number, headers: string[] | undefined, method: number | undefined, url: string | undefined,
      status: number | undefined, statusText: string | undefined, upgrade: boolean,
    ): number => {
      if (this.#closed) return VERDICT_CODE.switch;
      const rawHeaders = headers ?? partHeaders;
      const fullUrl = url ?? partUrl;
      partHeaders = [];
      partUrl = '';
      const head: MessageHead = { httpVersion: `${major}.${minor}`, rawHeaders, upgrade };
      if (kind === 'request') {
        head.method = METHODS[method ?? -1] ?? 'UNKNOWN';
        head.url = fullUrl;
      } else {
        head.status = status ?? 0;
        head.statusText = statusText ?? '';
      }
      const verdict = events.head(head);
      if (verdict === 'switch') this.#stopped = true;
      if (verdict === 'body' && !upgrade && mayHaveBody(head.status)) {
        const length = plainContentLength(rawHeaders);
        if (length >= SLICE_BODY_FROM) {
          // Answer "upgrade": llhttp ends the message at its head and stops; `feed` slices the body.
          this.#bodyLeft = length;
          this.#slicing = true;
          return VERDICT_CODE.switch;
        }
      }
      return VERDICT_CODE[verdict];
    };
    // Node 20+ passes one Buffer; older bindings passed (buffer, start, length).
    parser[Parser.kOnBody] = (chunk: Buffer, start?: number, length?: number) => {
      if (this.#closed) return;
      events.body(start === undefined ? chunk : chunk.subarray(start, start + (length ?? 0)));
    };
    parser[Parser.kOnMessageComplete] = () => {
      // Trailers arrive through kOnHeaders too (with the URL again): not part of the next head.
      partHeaders = [];
      partUrl = '';
      if (!this.#closed && !this.#slicing) events.complete();
    };
    this.#parser = parser;
  }

  /** Whether the stream stopped being HTTP (after an upgrade); later bytes are not parsed. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Follow the next bytes; a parse error is returned, never thrown. */
  feed(chunk: Buffer): Error | undefined {
    let offset = 0;
    while (offset < chunk.length && !this.#stopped) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, chunk.length - offset);
        this.#events.body(offset === 0 && n === chunk.length ? chunk : chunk.subarray(offset, offset + n));
        offset += n;
        this.#bodyLeft -= n;
        if (this.#bodyLeft === 0 && !this.#closed) {
          this.#parser.initialize(this.#type, {}, MAX_HEADER_BYTES, 0); // ready for the next message
          this.#events.complete();
        }
        continue;
      }
      const rest = offset === 0 ? chunk : chunk.subarray(offset);
      const parsed = this.#run(() => this.#parser.execute(rest));
      if (parsed instanceof Error) return parsed;
      if (!this.#slicing) break; // llhttp took all of it (or stopped for good)
      this.#slicing = false;
      offset += parsed;
    }
    return undefined;
  }

  /** The stream ended: completes a body delimited by the connection's close. */
  end(): Error | undefined {
    if (this.#bodyLeft > 0) return this.#stopped ? undefined : new Error('stream ended inside a body');
    const result = this.#run(() => this.#parser.finish());
    return result instanceof Error ? result : undefined;
  }

  /**
   * Stop following the stream and free the parser. Safe from inside a callback: freeing a native parser
   * while it executes would be a use-after-free, so that waits until `execute` returns.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    if (!this.#executing) this.#parser.close();
  }

  /** One parser call, guarded; a number is the bytes it consumed. */
  #run(step: () => number | Error | undefined): number | Error {
    if (this.#stopped) return 0;
    this.#executing = true;
    let result: number | Error | undefined;
    try {
      result = step();
    } catch (err) {
      result = err instanceof Error ? err : new Error('observer failed'); // a callback threw: stop like on bad input
    } finally {
      this.#executing = false;
      if (this.#closed) this.#parser.close();
    }
    if (this.#closed) return 0;
    return result instanceof Error ? result : result ?? 0;
  }
}

/** 1xx, 204 and 304 responses never have a body, whatever their headers say. */
function mayHaveBody(status: number | undefined): boolean {
  return status === undefined || (status >= 200 && status !== 204 && status !== 304);
}

/** The body length when framing is plain: one Content-Length of digits and no Transfer-Encoding; else -1. */
function plainContentLength(rawHeaders: string[]): number {
  let length = -1;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return -1;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (length !== -1 || !/^\d{1,15}$/.test(rawHeaders[i + 1]!)) return -1;
      length = Number(rawHeaders[i + 1]);
    }
  }
  return length;
}
