/**
 * Correlation (oauth-rules.md §0.2, §0.5, §4.5): an explicit, bounded state of recent analysed
 * exchanges with indexes by state fp, code fp, PKCE challenge, refresh-token fp, access-token fp,
 * host, client and secret fp. Assigns flow ids and answers "what is related to this exchange".
 * Keys are fingerprints only; no secret is held.
 */
import type { Thresholds } from './config.js';
import { isSuccess } from './facts.js';
import type { Correlation } from './rules/types.js';
import type { AnalyzedExchange, DiscoveryMetadata, SecretRef } from './types.js';
import { Index } from './bounded-index.js';

export interface FlowLimits {
  /** Most exchanges remembered for correlation. */
  maxExchanges: number;
  /** Most ids kept per index key. */
  maxPerKey: number;
}

export const DEFAULT_FLOW_LIMITS: FlowLimits = { maxExchanges: 5_000, maxPerKey: 50 };

interface Entry {
  ex: AnalyzedExchange;
  flowId?: string;
}

/** Transport failures that happen before any request byte reaches the server (same set as rules/code-util.ts). */
const NEVER_SENT = new Set(['dns', 'refused', 'tls_hostname', 'tls_expired', 'tls_untrusted', 'tls_other', 'proxy_loop']);

/** Whether the server can have received the request: it answered, or the transport failed only after sending began. */
function requestDelivered(ex: AnalyzedExchange): boolean {
  if (ex.response) return true;
  const err = ex.transportError;
  if (!err) return true;
  return !NEVER_SENT.has(err.code) && ex.timings.requestSent !== undefined;
}

const CODE_VARIANTS = ['decoded', 'encoded', 'plus_as_space', 'trimmed', 'unquoted', 'as_state'] as const;

export class FlowTracker {
  #entries = new Map<string, Entry>();
  #limits: FlowLimits;
  #byState: Index;
  #authzRespByState: Index;
  #byCode: Index; // authorize responses / callbacks that carried a code
  #tokenByCode: Index;
  #byChallenge: Index;
  #byPlain: Index;
  #rtIssued: Index;
  #rtUsed: Index;
  #atIssued: Index;
  #idIssued: Index;
  #byHost: Index;
  #byClient: Index;
  #authzByClient: Index;
  #deviceCode: Index;
  #byFlow: Index;
  #secretFirst = new Map<string, { exchangeId: string; host: string; issuer: string; at: number }>();
  #metadata: (issuer: string, base: string) => DiscoveryMetadata | undefined;

  constructor(metadata: (issuer: string, base: string) => DiscoveryMetadata | undefined, limits: Partial<FlowLimits> = {}) {
    this.#limits = { ...DEFAULT_FLOW_LIMITS, ...limits };
    const keys = this.#limits.maxExchanges;
    const per = this.#limits.maxPerKey;
    this.#byState = new Index(keys, per);
    this.#authzRespByState = new Index(keys, per);
    this.#byCode = new Index(keys, per);
    this.#tokenByCode = new Index(keys, per);
    this.#byChallenge = new Index(keys, per);
    this.#byPlain = new Index(keys, per);
    this.#rtIssued = new Index(keys, per);
    this.#rtUsed = new Index(keys, per);
    this.#atIssued = new Index(keys, per);
    this.#idIssued = new Index(keys, per);
    // Per host/client only the most recent 100: enough for storms (≥5/60 s) and outages (≥3 in 5 min), cheap for rules.
    this.#byHost = new Index(1_000, 100);
    this.#byClient = new Index(1_000, 100);
    this.#authzByClient = new Index(1_000, per);
    this.#deviceCode = new Index(keys, per);
    this.#byFlow = new Index(keys, per);
    this.#metadata = metadata;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): AnalyzedExchange | undefined {
    return this.#entries.get(id)?.ex;
  }

  flowOf(id: string): string | undefined {
    return this.#entries.get(id)?.flowId;
  }

  /** Exchanges for ids (index lists are appended in arrival order, so already oldest first). */
  #list(ids: readonly string[], exclude?: string, sort = false): AnalyzedExchange[] {
    const out: AnalyzedExchange[] = [];
    for (const id of ids) {
      if (id === exclude) continue;
      const e = this.#entries.get(id);
      if (e) out.push(e.ex);
    }
    return sort ? out.sort((a, b) => a.seq - b.seq) : out;
  }

  /** Like #list then filter, in one pass (the per-host/per-client lists hold up to 100 ids and are read on most ingests). */
  #collect(ids: readonly string[], exclude: string, keep: (x: AnalyzedExchange) => boolean): AnalyzedExchange[] {
    const out: AnalyzedExchange[] = [];
    for (const id of ids) {
      if (id === exclude) continue;
      const e = this.#entries.get(id);
      if (e && keep(e.ex)) out.push(e.ex);
    }
    return out;
  }

  /** Adds an exchange, indexes it and assigns its flow id. */
  add(ex: AnalyzedExchange): string | undefined {
    const flowId = this.#assignFlow(ex);
    this.#entries.set(ex.id, { ex, ...(flowId ? { flowId } : {}) });
    this.#index(ex);
    this.#byFlow.add(flowId, ex.id);
    while (this.#entries.size > this.#limits.maxExchanges) {
      const first = this.#entries.keys().next();
      if (first.done) break;
      this.#entries.delete(first.value);
    }
    return flowId;
  }

  #index(ex: AnalyzedExchange): void {
    const id = ex.id;
    this.#byHost.add(ex.request.url.host, id);
    if (ex.kind === 'authorize') {
      this.#byState.add(ex.authorize?.state?.fp, id);
      this.#byChallenge.add(ex.pkce.codeChallenge, id);
      this.#byPlain.add(ex.pkce.challengePlainFp, id);
      this.#authzByClient.add(ex.authorize?.clientId, id);
    }
    const resp = ex.authorizeResponse;
    if (resp) {
      this.#authzRespByState.add(resp.state?.fp, id);
      this.#byCode.add(resp.code?.fp, id);
    }
    if (ex.kind === 'token') {
      this.#tokenByCode.add(ex.code?.fp, id);
      this.#rtUsed.add(ex.refreshToken?.fp, id);
      this.#deviceCode.add(ex.deviceCode?.fp, id);
      this.#byClient.add(ex.clientId, id);
    }
    const tr = ex.tokenResponse;
    if (tr) {
      this.#rtIssued.add(tr.refreshToken?.ref.fp, id);
      this.#atIssued.add(tr.accessToken?.ref.fp, id);
      this.#idIssued.add(tr.idToken?.ref.fp, id);
    }
    const secret = ex.clientAuth.clientSecret ?? ex.clientAuth.basic?.secret;
    // Only where the secret was actually delivered: a refused connection or failed TLS handshake sent nothing (R10 learned).
    if (secret && secret.length > 0 && requestDelivered(ex) && !this.#secretFirst.has(secret.fp)) {
      this.#secretFirst.set(secret.fp, { exchangeId: id, host: ex.request.url.host, issuer: ex.issuer, at: ex.at });
      if (this.#secretFirst.size > 1_000) {
        const first = this.#secretFirst.keys().next();
        if (!first.done) this.#secretFirst.delete(first.value);
      }
    }
  }

  #flowOfFirst(ids: readonly string[]): string | undefined {
    for (const id of ids) {
      const f = this.#entries.get(id)?.flowId;
      if (f) return f;
    }
    return undefined;
  }

  #assignFlow(ex: AnalyzedExchange): string | undefined {
    const fresh = `flow-${ex.seq}`;
    switch (ex.kind) {
      case 'authorize':
        return this.#flowOfFirst(this.#byState.get(ex.authorize?.state?.fp)) ?? fresh;
      case 'authorize_response': {
        const resp = ex.authorizeResponse;
        return this.#flowOfFirst(this.#byState.get(resp?.state?.fp))
          ?? this.#flowOfFirst(this.#byCode.get(resp?.code?.fp))
          ?? this.#flowOfFirst(this.#authzRespByState.get(resp?.state?.fp)) ?? fresh;
      }
      case 'token': {
        const link = this.#codeLink(ex);
        if (link) return this.#entries.get(link.response.id)?.flowId ?? fresh;
        const pk = this.#pkceMatches(ex)[0];
        if (pk) return this.#entries.get(pk.id)?.flowId ?? fresh;
        return this.#flowOfFirst(this.#tokenByCode.get(ex.code?.fp))
          ?? this.#flowOfFirst(this.#rtIssued.get(ex.refreshToken?.fp))
          ?? this.#flowOfFirst(this.#rtUsed.get(ex.refreshToken?.fp))
          ?? this.#flowOfFirst(this.#deviceCode.get(ex.deviceCode?.fp))
          ?? fresh;
      }
      case 'userinfo':
      case 'other':
        return ex.request.bearer ? this.#flowOfFirst(this.#atIssued.get(ex.request.bearer.fp)) : undefined;
      default:
        return undefined;
    }
  }

  /** The authorization response whose code equals this token request's code, exactly or after one transform. */
  #codeLink(ex: AnalyzedExchange): { response: AnalyzedExchange; by: NonNullable<Correlation['codeMatchedBy']> } | undefined {
    const code = ex.code;
    if (!code) return undefined;
    const exact = this.#list(this.#byCode.get(code.fp), ex.id).filter((r) => r.seq < ex.seq);
    if (exact[0]) return { response: exact[0], by: 'exact' };
    for (const variant of CODE_VARIANTS) {
      const fp = code.variants?.[variant];
      if (!fp) continue;
      const index = variant === 'as_state' ? this.#authzRespByState : this.#byCode;
      const hit = this.#list(index.get(fp), ex.id).filter((r) => r.seq < ex.seq)[0];
      if (hit) return { response: hit, by: variant };
    }
    return undefined;
  }

  #pkceMatches(ex: AnalyzedExchange): AnalyzedExchange[] {
    const ids = [...this.#byChallenge.get(ex.pkce.verifierS256), ...this.#byPlain.get(ex.pkce.verifierPlainFp)];
    return ex.pkce.verifierS256 || ex.pkce.verifierPlainFp ? this.#list([...new Set(ids)], ex.id, true).filter((a) => a.seq < ex.seq) : [];
  }

  /** Whether the flow of exchange `id` has a successful token exchange (as far as known now). */
  #flowCompleted(id: string): boolean {
    const flowId = this.flowOf(id);
    return !!flowId && this.#list(this.#byFlow.get(flowId)).some((x) => x.kind === 'token' && isSuccess(x));
  }

  /** The correlation view rules get for `ex`, relative to everything currently known. */
  correlation(ex: AnalyzedExchange, t: Thresholds): Correlation {
    const before = (list: AnalyzedExchange[]) => list.filter((x) => x.seq < ex.seq);
    const after = (list: AnalyzedExchange[]) => list.filter((x) => x.seq > ex.seq);
    // The per-host and per-client lists are the largest (up to 100 each) and most rules never read them:
    // computed on first read by enumerable getters of the literal (still serialisable; an object literal
    // with accessors stays a fast-mode object, unlike one given properties by Object.defineProperty).
    const hostWindow = Math.max(t.retryStorm.windowMs, t.outage.windowMs);
    const laterWindow = Math.max(t.redirectFollowMs, t.retryStorm.windowMs);
    const clientWindow = Math.max(t.retryStorm.windowMs, 3_600_000);
    let hostEarlier: AnalyzedExchange[] | undefined;
    let hostLater: AnalyzedExchange[] | undefined;
    let clientEarlier: AnalyzedExchange[] | undefined;
    let recent: AnalyzedExchange[] | undefined;
    // Set below once the linked authorize is known; read only through the recentAuthorizes getter.
    let recentList: () => AnalyzedExchange[] = () => [];
    const hostList = (keep: (x: AnalyzedExchange) => boolean) => this.#collect(this.#byHost.get(ex.request.url.host), ex.id, keep);
    const tokenClientId = ex.kind === 'token' ? ex.clientId : undefined;
    const clientList = () => (tokenClientId ? this.#collect(this.#byClient.get(tokenClientId), ex.id, (x) => x.seq < ex.seq && ex.at - x.at <= clientWindow) : []);
    const c: Correlation = {
      callbacks: [], sameCodeEarlier: [], sameCodeLater: [], sameRefreshEarlier: [], sameRefreshLater: [],
      pkceMatches: [],
      get recentAuthorizes() {
        return (recent ??= recentList());
      },
      get sameHostEarlier() {
        return (hostEarlier ??= hostList((x) => x.seq < ex.seq && ex.at - x.at <= hostWindow));
      },
      get sameHostLater() {
        return (hostLater ??= hostList((x) => x.seq > ex.seq && x.at - ex.at <= laterWindow));
      },
      get sameClientEarlier() {
        return (clientEarlier ??= clientList());
      },
    };
    const flowId = this.flowOf(ex.id);
    if (flowId) c.flowId = flowId;

    let authorize: AnalyzedExchange | undefined;
    let authorizeResponse: AnalyzedExchange | undefined;
    const authzByState = (state: SecretRef | undefined) => before(this.#list(this.#byState.get(state?.fp), ex.id)).at(-1);

    if (ex.kind === 'authorize') {
      const responses = after(this.#list(this.#authzRespByState.get(ex.authorize?.state?.fp), ex.id));
      if (ex.authorizeResponse) {
        authorizeResponse = ex;
        c.callbacks = after(this.#list(this.#byCode.get(ex.authorizeResponse.code?.fp), ex.id)).filter((r) => r.authorizeResponse?.via.startsWith('callback'));
      } else {
        authorizeResponse = responses.find((r) => !r.authorizeResponse?.via.startsWith('callback')) ?? responses[0];
      }
      c.callbacks = [...new Set([...c.callbacks, ...responses.filter((r) => r.authorizeResponse?.via.startsWith('callback'))])];
    } else if (ex.kind === 'authorize_response') {
      const resp = ex.authorizeResponse;
      authorize = authzByState(resp?.state);
      if (authorize) c.authorizeLink = 'state';
      const sameCode = this.#list(this.#byCode.get(resp?.code?.fp), ex.id);
      if (!authorize && resp?.code) {
        const earlierResp = before(sameCode).find((r) => r.authorizeResponse?.state);
        authorize = earlierResp ? authzByState(earlierResp.authorizeResponse?.state) : undefined;
        if (authorize) c.authorizeLink = 'code';
      }
      authorizeResponse = before(sameCode)[0] ?? ex;
      c.callbacks = [...this.#list(this.#authzRespByState.get(resp?.state?.fp), ex.id), ...sameCode]
        .filter((r, i, all) => all.indexOf(r) === i && r.authorizeResponse?.via.startsWith('callback'));
      if (ex.authorizeResponse?.via.startsWith('callback')) c.callbacks = [...c.callbacks, ex].sort((a, b) => a.seq - b.seq);
      const tokens = this.#list(this.#tokenByCode.get(resp?.code?.fp), ex.id);
      c.sameCodeLater = after(tokens);
      c.sameCodeEarlier = before(tokens);
    } else if (ex.kind === 'token') {
      const link = this.#codeLink(ex);
      if (link) {
        // Prefer the AS-side response (Location / form_post) over the callback request.
        const all = this.#list(this.#byCode.get(link.response.authorizeResponse?.code?.fp), ex.id).filter((r) => r.seq < ex.seq);
        authorizeResponse = all.find((r) => !r.authorizeResponse?.via.startsWith('callback')) ?? link.response;
        c.codeMatchedBy = link.by;
        c.callbacks = all.filter((r) => r.authorizeResponse?.via.startsWith('callback'));
        const state = all.map((r) => r.authorizeResponse?.state).find(Boolean);
        authorize = all.find((r) => r.kind === 'authorize') ?? authzByState(state);
        if (authorize) c.authorizeLink = 'code';
      }
      c.pkceMatches = this.#pkceMatches(ex);
      if (!authorize && c.pkceMatches.length) {
        authorize = c.pkceMatches.at(-1);
        c.authorizeLink = 'pkce';
      }
      if (!authorize && ex.grantType === 'authorization_code' && ex.clientId) {
        authorize = before(this.#list(this.#authzByClient.get(ex.clientId), ex.id)).filter((a) => ex.at - a.at <= t.authorizeWindowMs).at(-1);
        if (authorize) c.authorizeLink = 'fallback';
      }
      if (authorize && !authorizeResponse) {
        // Linked by PKCE or fallback: the flow's authorization response / callbacks by the authorize state
        // (R21 #token_call_without_code, R18 when no transform links the code).
        const from = authorize;
        const responses = this.#list(this.#authzRespByState.get(from.authorize?.state?.fp), ex.id).filter((r) => r.seq > from.seq && r.seq < ex.seq);
        authorizeResponse = responses.find((r) => !r.authorizeResponse?.via.startsWith('callback')) ?? responses[0];
        if (!c.callbacks.length) c.callbacks = responses.filter((r) => r.authorizeResponse?.via.startsWith('callback'));
      }
      const sameCode = this.#list(this.#tokenByCode.get(ex.code?.fp), ex.id);
      c.sameCodeEarlier = before(sameCode);
      c.sameCodeLater = after(sameCode);
      const sameRt = this.#list(this.#rtUsed.get(ex.refreshToken?.fp), ex.id);
      c.sameRefreshEarlier = before(sameRt);
      c.sameRefreshLater = after(sameRt);
      const issued = before(this.#list(this.#rtIssued.get(ex.refreshToken?.fp), ex.id));
      if (issued.length) c.refreshIssuedBy = issued.at(-1);
      const rotated = sameRt.find((x) => {
        const newRt = x.tokenResponse?.refreshToken?.ref.fp;
        return newRt !== undefined && newRt !== ex.refreshToken?.fp;
      });
      if (rotated) c.refreshRotatedBy = rotated;
    }
    if (authorize) c.authorize = authorize;
    if (authorizeResponse) c.authorizeResponse = authorizeResponse;

    const clientId = ex.clientId ?? ex.authorize?.clientId ?? authorize?.authorize?.clientId;
    const authzWindow = (a: AnalyzedExchange) => a.seq < ex.seq && ex.at - a.at <= t.authorizeWindowMs;
    recentList = () => (clientId ? this.#list(this.#authzByClient.get(clientId), ex.id).filter(authzWindow) : []);
    if (ex.kind === 'authorize') {
      // R48 login loop: logins that completed are not part of a loop.
      const completed = [...c.recentAuthorizes, ex].filter((a) => this.#flowCompleted(a.id)).map((a) => a.id);
      if (completed.length) c.completedAuthorizeIds = completed;
    }


    const bearer = ex.request.bearer;
    if (bearer && (ex.kind === 'userinfo' || ex.kind === 'other')) {
      // R61: which earlier token response issued the presented token, and as what.
      const as = ex.request.bearerAs;
      const hit = (['access_token', 'id_token', 'refresh_token'] as const).map((k) => {
        const index = k === 'access_token' ? this.#atIssued : k === 'id_token' ? this.#idIssued : this.#rtIssued;
        const fp = k === 'access_token' ? bearer.fp : k === 'id_token' ? as?.idToken : as?.refreshToken;
        const by = before(this.#list(index.get(fp), ex.id)).at(-1);
        return by ? { exchange: by, as: k } : undefined;
      }).find(Boolean);
      if (hit) c.bearerIssuedBy = hit;
    }
    const discovery = this.#metadata(ex.issuer, ex.request.url.base);
    if (discovery) c.discovery = discovery;
    const secret = ex.clientAuth.clientSecret ?? ex.clientAuth.basic?.secret;
    const first = secret ? this.#secretFirst.get(secret.fp) : undefined;
    if (first && first.exchangeId !== ex.id) c.secretFirstSeen = first;
    return c;
  }

  /** Earlier exchanges whose findings may change because `ex` arrived (bounded). */
  affectedBy(ex: AnalyzedExchange, t: Thresholds, correlation?: Correlation, max = 25): AnalyzedExchange[] {
    const out = new Map<string, AnalyzedExchange>();
    const flowId = this.flowOf(ex.id);
    const push = (list: Iterable<AnalyzedExchange>) => {
      for (const x of list) if (x.seq < ex.seq && !out.has(x.id)) out.set(x.id, x);
    };
    const c = correlation ?? this.correlation(ex, t);
    // Authorization responses/callbacks can gain findings from later exchanges (R69 capture gap, R16 #double_callback);
    // the authorize request itself only has single-exchange findings, so it is not re-run.
    push([c.authorizeResponse].filter((x): x is AnalyzedExchange => !!x && x.kind !== 'authorize'));
    push(c.callbacks);
    push(c.sameCodeEarlier);
    push(c.sameRefreshEarlier);
    if (c.refreshIssuedBy) push([c.refreshIssuedBy]);
    // Same-host failures/redirects shortly before: their findings can depend on what the client did next
    // (R40 follow-up, R47 Retry-After ignored, R44 client proceeding after an error in 2xx).
    // Only the immediately preceding same-host exchange: those rules look at the client's *next* request.
    const previous = c.sameHostEarlier.at(-1);
    if (previous && ex.at - previous.at <= Math.max(t.redirectFollowMs, 60_000)
      && (!!previous.transportError || !!previous.providerError || (!!previous.response && previous.response.status >= 300))) push([previous]);
    if (flowId) {
      // Flows of code/token exchanges only; a flow is small (authorize, response, callback, tokens).
      push(this.#list(this.#byFlow.get(flowId), ex.id).filter((x) => x.kind === 'token' || x.kind === 'authorize_response').slice(-8));
    }
    return [...out.values()].sort((a, b) => b.seq - a.seq).slice(0, max).sort((a, b) => a.seq - b.seq);
  }
}
