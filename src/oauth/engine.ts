/**
 * The OAuth engine: capture → analyze (parse, classify, fingerprint) → redact → correlate → rules.
 * `ingest` returns the redacted exchange plus any earlier exchanges whose findings changed, so the
 * store re-emits them (a reused code is only visible at the second exchange). Never throws.
 */
import type { CapturedExchange } from '../capture/types.js';
import type { Exchange, OAuthView, Redacted } from '../model.js';
import { analyze } from './analyze.js';
import { EndpointBook } from './classify.js';
import { EMPTY_CONFIG, type LensConfig } from './config.js';
import { Fingerprinter } from './fingerprint.js';
import { FlowTracker, type FlowLimits } from './flows.js';
import { SecretCollector } from './inventory.js';
import { minimalExchange, redactExchange, resweepFacts, withOAuth } from './redact.js';
import { ALL_RULES } from './rules/index.js';
import type { Rule, RuleContext } from './rules/types.js';
import { RuleRunner } from './runner.js';
import type { AnalyzedExchange } from './types.js';

export interface EngineOptions {
  fingerprintKey: Buffer;
  config?: LensConfig;
  logger?: { warn(obj: object, msg: string): void };
  /** Rules to run (default ALL_RULES); tests inject failing rules here. */
  rules?: readonly Rule[];
  flowLimits?: Partial<FlowLimits>;
}

export interface IngestResult {
  exchange: Redacted<Exchange>;
  /** Earlier exchanges whose oauth view (findings, flow) changed: upsert them too. */
  updated: Redacted<Exchange>[];
}

export interface EngineStats {
  ingested: number;
  /** Exchanges whose analysis failed and were stored in minimal form. */
  failed: number;
  ruleErrors: number;
  /** Earlier exchanges re-emitted because their findings changed. */
  updates: number;
}

export class OAuthEngine {
  readonly config: LensConfig;
  #fingerprinter: Fingerprinter;
  #logger: EngineOptions['logger'];
  #book: EndpointBook;
  #flows: FlowTracker;
  #runner: RuleRunner;
  #stored = new Map<string, Redacted<Exchange>>();
  #maxStored: number;
  #registry: Array<{ client: string; clientId: string; sha256: readonly string[] }>;
  #stats = { ingested: 0, failed: 0, updates: 0 };
  /** Authorization responses with a code, by id → time, until the capture-gap window has passed. */
  #awaiting = new Map<string, number>();

  constructor(options: EngineOptions) {
    this.config = options.config ?? EMPTY_CONFIG;
    this.#fingerprinter = new Fingerprinter(options.fingerprintKey);
    this.#logger = options.logger;
    this.#book = new EndpointBook(this.config.tokenEndpoints);
    this.#flows = new FlowTracker((issuer, base) => this.#book.metadataFor(issuer, base), options.flowLimits);
    this.#maxStored = options.flowLimits?.maxExchanges ?? 5_000;
    this.#runner = new RuleRunner(options.rules ?? ALL_RULES, this.#logger);
    this.#registry = this.config.clients
      .filter((c) => c.secretSha256?.length)
      .map((c) => ({ client: c.name, clientId: c.clientId, sha256: c.secretSha256 ?? [] }));
  }

  get stats(): EngineStats {
    return { ...this.#stats, ruleErrors: this.#runner.errorCount };
  }

  /** Runs the whole pipeline on one captured exchange. Never throws. */
  ingest(captured: CapturedExchange, seq: number): IngestResult {
    this.#stats.ingested++;
    const collector = new SecretCollector(this.#fingerprinter, this.#registry);
    let facts: AnalyzedExchange;
    let exchange: Redacted<Exchange>;
    try {
      const analysis = analyze(captured, seq, collector, { book: this.#book, fingerprinter: this.#fingerprinter });
      facts = analysis.facts;
      if (facts.discovery) this.#book.learn(facts.discovery);
      if (facts.kind === 'authorize') this.#book.noteAuthorize(facts.request.url.host, facts.redirectUri, facts.at);
      const placeholder: OAuthView = { kind: facts.kind, findings: [] };
      exchange = redactExchange({
        captured, seq, requestBody: analysis.requestBody,
        ...(analysis.responseBody ? { responseBody: analysis.responseBody } : {}),
        oauth: placeholder,
      }, collector);
      facts.request.headers = exchange.request.headers;
      if (facts.response && exchange.response) facts.response.headers = exchange.response.headers;
      // Redacted parsed JSON bodies for rules, on OAuth exchanges only (API payloads can be large).
      if (facts.kind !== 'other') {
        if (exchange.request.body.json !== undefined) facts.request.json = exchange.request.body.json;
        if (facts.response && exchange.response?.body.json !== undefined) facts.response.json = exchange.response.body.json;
      }
      facts.secrets = [...collector.occurrences];
      // Text taken from bodies before the whole exchange was redacted: sweep again with every secret now known.
      resweepFacts(facts, collector);
    } catch (err) {
      this.#stats.failed++;
      this.#logger?.warn({ code: 'OAL_ERR_ENGINE', exchangeId: captured.id, error: err instanceof Error ? err.name : typeof err }, 'analysis failed; exchange stored without headers or bodies');
      try {
        return { exchange: minimalExchange(captured, seq, collector), updated: [] };
      } catch {
        return { exchange: minimalExchange({ ...captured, request: { ...captured.request, url: '' } }, seq, new SecretCollector(this.#fingerprinter)), updated: [] };
      }
    }
    try {
      const flowId = this.#flows.add(facts);
      const ctx = this.#context(facts, facts.at);
      const findings = this.#runner.run(facts, ctx, flowId);
      exchange = withOAuth(exchange, this.#view(facts, flowId, findings));
      this.#remember(exchange);
      return { exchange, updated: this.#reevaluate(facts, ctx.correlation) };
    } catch (err) {
      this.#logger?.warn({ code: 'OAL_ERR_CORRELATE', exchangeId: captured.id, error: err instanceof Error ? err.name : typeof err }, 'correlation failed; exchange stored without findings');
      return { exchange, updated: [] };
    }
  }

  #context(ex: AnalyzedExchange, now: number): RuleContext {
    // Correlation is built on first read: on re-evaluation most rules' drafts are reused and never read it.
    const flows = this.#flows;
    const thresholds = this.config.thresholds;
    let correlation: RuleContext['correlation'] | undefined;
    return {
      now, config: this.config, thresholds,
      get correlation() {
        return (correlation ??= flows.correlation(ex, thresholds));
      },
    };
  }

  #view(facts: AnalyzedExchange, flowId: string | undefined, findings: OAuthView['findings']): OAuthView {
    return {
      kind: facts.kind,
      ...(facts.grantType !== undefined ? { grantType: facts.grantType } : {}),
      ...(flowId ? { flowId } : {}),
      ...(facts.clientId ?? facts.authorize?.clientId ? { clientId: facts.clientId ?? facts.authorize?.clientId } : {}),
      ...(facts.provider ?? facts.issuer ? { provider: facts.provider ?? facts.issuer } : {}),
      ...(facts.providerError ? { providerError: { ...facts.providerError } } : {}),
      ...(facts.jwts.length ? { jwts: facts.jwts } : {}),
      findings,
    };
  }

  #remember(exchange: Redacted<Exchange>): void {
    // Only what re-evaluation can target, and not huge bodies: the store owns the bulk of memory.
    const big = (exchange.request.body.text?.length ?? 0) + (exchange.response?.body.text?.length ?? 0) > 1_048_576;
    const kind = exchange.oauth.kind;
    const relevant = kind === 'token' || kind === 'authorize_response' || !!exchange.error || (exchange.response?.status ?? 0) >= 300 || !!exchange.oauth.providerError;
    if (big || !relevant) return;
    this.#stored.delete(exchange.id);
    this.#stored.set(exchange.id, exchange);
    while (this.#stored.size > this.#maxStored) {
      const first = this.#stored.keys().next();
      if (first.done) break;
      this.#stored.delete(first.value);
    }
  }

  /** Re-runs rules on earlier related exchanges; returns those whose oauth view changed. */
  #reevaluate(latest: AnalyzedExchange, correlation: RuleContext['correlation']): Redacted<Exchange>[] {
    const updated: Redacted<Exchange>[] = [];
    const targets = this.#flows.affectedBy(latest, this.config.thresholds, correlation);
    // Authorization responses carrying a code are looked at once more when the capture-gap window has passed,
    // whatever arrives then (R69: the backend's token exchange never came through the lens).
    if (latest.authorizeResponse?.code) this.#awaiting.set(latest.id, latest.at);
    for (const [id, at] of this.#awaiting) {
      if (latest.at - at < this.config.thresholds.captureGapMs) continue;
      this.#awaiting.delete(id);
      const prev = this.#flows.get(id);
      if (prev && prev.id !== latest.id && !targets.some((t) => t.id === id)) targets.push(prev);
    }
    while (this.#awaiting.size > 1_000) {
      const first = this.#awaiting.keys().next();
      if (first.done) break;
      this.#awaiting.delete(first.value);
    }
    for (const prev of targets) {
      const stored = this.#stored.get(prev.id);
      if (!stored) continue;
      const flowId = this.#flows.flowOf(prev.id);
      const findings = this.#runner.run(prev, this.#context(prev, latest.at), flowId);
      if (flowId === stored.oauth.flowId && JSON.stringify(findings) === JSON.stringify(stored.oauth.findings)) continue;
      const view = this.#view(prev, flowId, findings);
      const next = withOAuth(stored, view);
      this.#remember(next);
      updated.push(next);
      this.#stats.updates++;
    }
    return updated;
  }
}
