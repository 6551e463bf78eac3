// Size: over 350 lines because it is the one registry of every engine metric: its definitions, their scrape-time
// sources and the call-event feeds; splitting it would scatter names that must stay unique and consistent.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ReasonCounts } from '../../transport/counters.ts';
import type { CallOutcome, ProviderUsage, TurnLatency } from '../../call/index.ts';
import { LabelBudget } from './label-budget.ts';
import { JITTER_EVENTS, type MediaTotals } from './media-totals.ts';

/**
 * Where counters owned by other layers are read, at scrape time only (nothing runs per packet or per frame).
 * Every function is optional: a source not wired yet simply exports no series.
 */
export interface MetricsSources {
  /** Live calls: one entry per call, with its (config-defined) context. */
  activeCalls?: () => Iterable<{ context: string }>;
  /** Media stream counters summed over every stream since start, finished ones included (see MediaCounterTotals). */
  media?: () => MediaTotals;
  /** Input the media listeners refused before any stream existed, per listener ('rtp', 'audiosocket', 'media_ws'). */
  listenerRejections?: () => Iterable<[listener: string, counts: Readonly<ReasonCounts>]>;
  /** Bursts of packets a stalled sender released at once, let through to the jitter buffer (RTP server totals). */
  mediaBursts?: () => { bursts: number; burstPackets: number };
  /** Each provider stage's health (ProviderRegistry.health): failed ones are skipped until their re-probe. */
  providerHealth?: () => Iterable<{ provider: string; stage: string; healthy: boolean }>;
  /** ARI events dropped because they could not be processed (AriConnection.counters). */
  ariBadEvents?: () => number;
  /** The shared pacer clock's timing faults. */
  pacer?: () => { lateTicks: number; skippedTicks: number };
  /** Control API authentication failures by reason (AuthGuard.failures). */
  authFailures?: () => ReadonlyMap<string, number>;
  /** Calls refused at admission by reason ('global_limit', 'context_limit', 'draining'). */
  admissionRefusals?: () => Readonly<ReasonCounts>;
  /** Call record writes that failed. */
  storeWriteErrors?: () => number;
  /** Attempts to write call records that found the database locked or unavailable (tried again). */
  storeWriteRetries?: () => number;
  /** Call record writes waiting for the database. */
  storePendingWrites?: () => number;
  /** The VAD service's totals (VadService.stats): windows inferred, windows skipped by reason, backlog now. */
  vad?: () => { windows: number; quietWindows: number; skipped: Readonly<Record<string, number>>; backlog: number };
}

/** Turn latency stages, as metric label values, mapped from the record's fields. */
const LATENCY_STAGES: ReadonlyArray<[keyof TurnLatency, string]> = [
  ['endpointingMs', 'endpointing'],
  ['sttFinalMs', 'stt_final'],
  ['llmFirstTokenMs', 'llm_first_token'],
  ['firstSentenceMs', 'first_sentence'],
  ['ttsFirstAudioMs', 'tts_first_audio'],
  ['engineOverheadMs', 'engine_overhead'],
  ['totalMs', 'total'],
];

/** Distinct values any one free-text label (context, provider, tool, reason) may take before "other". */
const LABEL_BUDGET = 32;

/** Sets a counter from a plain cumulative count read at scrape time. */
function setCounter(counter: Counter<string>, labels: Record<string, string>, value: number): void {
  if (Number.isFinite(value) && value > 0) counter.inc(labels, value);
}

/**
 * The engine's Prometheus metrics. Label values are bounded: enums from the code, config-defined contexts,
 * each behind a LabelBudget; never call ids, channel ids or numbers.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  private readonly contexts = new LabelBudget(LABEL_BUDGET);
  private readonly providers = new LabelBudget(LABEL_BUDGET);
  private readonly tools = new LabelBudget(LABEL_BUDGET);
  private readonly reasons = new LabelBudget(LABEL_BUDGET * 2);
  private readonly listeners = new LabelBudget(8);
  private readonly calls: Counter<'context' | 'outcome'>;
  private readonly callDuration: Histogram<string>;
  private readonly turnLatency: Histogram<'stage'>;
  private readonly bargeIns: Counter<string>;
  private readonly bargeInReaction: Histogram<string>;
  private readonly falseBargeIns: Counter<'reason'>;
  private readonly providerErrors: Counter<'provider' | 'stage'>;
  private readonly providerUsage: Counter<'provider' | 'stage' | 'unit'>;
  private readonly toolCalls: Counter<'tool'>;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    // Event-loop lag (monitorEventLoopDelay percentiles), heap, GC, handles: bounded, fixed series.
    collectDefaultMetrics({ register: this.registry });

    this.calls = new Counter({ name: 'ai_agent_calls_total', help: 'Calls ended, by context and outcome.', labelNames: ['context', 'outcome'], registers });
    this.callDuration = new Histogram({
      name: 'ai_agent_call_duration_seconds',
      help: 'Call duration from start to end.',
      buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    });
    this.turnLatency = new Histogram({
      name: 'ai_agent_turn_latency_seconds',
      help: 'Per-turn latency by stage (endpointing, stt_final, llm_first_token, first_sentence, tts_first_audio, engine_overhead, total).',
      labelNames: ['stage'],
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers,
    });
    this.bargeIns = new Counter({ name: 'ai_agent_barge_ins_total', help: 'Agent speech interrupted by the caller.', registers });
    this.bargeInReaction = new Histogram({
      name: 'ai_agent_barge_in_reaction_seconds',
      help: 'Caller speech onset to agent playback stopped.',
      buckets: [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1],
      registers,
    });
    this.falseBargeIns = new Counter({
      name: 'ai_agent_false_barge_ins_total',
      help: 'Caller sound over the agent that did not interrupt it (noise, backchannel), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.providerErrors = new Counter({
      name: 'ai_agent_provider_errors_total',
      help: 'Provider failures by provider and stage (stt, llm, tts, agent).',
      labelNames: ['provider', 'stage'],
      registers,
    });
    this.toolCalls = new Counter({ name: 'ai_agent_tool_calls_total', help: 'Tool calls made by the LLM, by tool.', labelNames: ['tool'], registers });
    this.providerUsage = new Counter({
      name: 'ai_agent_provider_usage_total',
      help: 'What calls used of each provider (what it bills): stt audio_seconds, tts characters, llm replies and prompt/completion/cached tokens.',
      labelNames: ['provider', 'stage', 'unit'],
      registers,
    });
    const providers = this.providers;
    new Gauge({
      name: 'ai_agent_provider_healthy',
      help: 'Whether a provider stage is in use (1) or skipped after a failure until its re-probe (0).',
      labelNames: ['provider', 'stage'],
      registers,
      // Over several engine processes: unhealthy when any process finds it so.
      aggregator: 'min',
      collect() {
        this.reset();
        for (const h of sources.providerHealth?.() ?? []) this.set({ provider: providers.value(h.provider), stage: h.stage }, h.healthy ? 1 : 0);
      },
    });

    this.scraped();
  }

  /** Series whose values live in other layers' plain objects, read when Prometheus scrapes. */
  private scraped(): void {
    const { sources } = this;
    const registers = [this.registry];
    const contexts = this.contexts;
    const reasons = this.reasons;
    const listeners = this.listeners;

    new Gauge({
      name: 'ai_agent_active_calls',
      help: 'Calls in progress, by context.',
      labelNames: ['context'],
      registers,
      collect() {
        this.reset();
        if (!sources.activeCalls) return;
        const counts = new Map<string, number>();
        for (const call of sources.activeCalls()) {
          const context = contexts.value(call.context);
          counts.set(context, (counts.get(context) ?? 0) + 1);
        }
        for (const [context, n] of counts) this.set({ context }, n);
      },
    });
    new Counter({
      name: 'ai_agent_admission_refusals_total',
      help: 'Calls refused at admission (busy message played), by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(sources.admissionRefusals?.() ?? {})) setCounter(this, { reason: reasons.value(reason) }, n);
      },
    });
    new Counter({
      name: 'ai_agent_media_rejected_total',
      help: 'Media input rejected (packets, frames, messages), by where it was refused and reason.',
      labelNames: ['source', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(sources.media?.().rejected ?? {})) setCounter(this, { source: 'stream', reason: reasons.value(reason) }, n);
        for (const [listener, counts] of sources.listenerRejections?.() ?? []) {
          for (const [reason, n] of Object.entries(counts)) setCounter(this, { source: listeners.value(listener), reason: reasons.value(reason) }, n);
        }
      },
    });
    new Counter({
      name: 'ai_agent_jitter_buffer_events_total',
      help: 'Jitter-buffer events summed over calls: late (dropped, arrived after playout), concealed (lost, filled by PLC), duplicate, resync, stretched, shrunk.',
      labelNames: ['event'],
      registers,
      collect() {
        this.reset();
        const media = sources.media?.();
        if (media) for (const event of JITTER_EVENTS) setCounter(this, { event }, media.jitter[event]);
      },
    });
    new Counter({
      name: 'ai_agent_media_bursts_absorbed_total',
      help: 'Bursts above the sustained packet rate (a stalled sender releasing its backlog) absorbed by the jitter buffer instead of dropped.',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.mediaBursts?.().bursts ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_ari_events_rejected_total',
      help: 'ARI events dropped because they could not be processed (malformed, or undeclared by the API description).',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.ariBadEvents?.() ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_media_burst_packets_total',
      help: 'Packets above the sustained rate accepted within absorbed bursts.',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.mediaBursts?.().burstPackets ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_playback_queue_drains_total',
      help: 'Times a call\'s playback queue ran dry right after audio: end of an utterance, or a starving producer (underrun).',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.media?.().outboundDrains ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_playback_overflow_samples_total',
      help: 'Samples dropped because a call\'s playback queue hit its limit.',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.media?.().outboundOverflowSamples ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_media_packets_total',
      help: 'Media packets (or frames) received and sent, summed over calls.',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        const media = sources.media?.();
        if (!media) return;
        setCounter(this, { direction: 'in' }, media.packetsIn);
        setCounter(this, { direction: 'out' }, media.packetsOut);
      },
    });
    new Counter({
      name: 'ai_agent_pacer_faults_total',
      help: 'Shared 20 ms pacer clock faults: late (tick ran late) and skipped (ticks lost to a stall).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const pacer = sources.pacer?.();
        if (!pacer) return;
        setCounter(this, { kind: 'late' }, pacer.lateTicks);
        setCounter(this, { kind: 'skipped' }, pacer.skippedTicks);
      },
    });
    new Counter({
      name: 'ai_agent_control_auth_failures_total',
      help: 'Control API requests refused, by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of sources.authFailures?.() ?? []) setCounter(this, { reason: reasons.value(reason) }, n);
      },
    });
    new Counter({
      name: 'ai_agent_store_write_errors_total',
      help: 'Call record writes that failed (the calls were not affected).',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.storeWriteErrors?.() ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_store_write_retries_total',
      help: 'Attempts to write call records that found the database locked or unavailable; the records waited and were tried again.',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.storeWriteRetries?.() ?? 0);
      },
    });
    new Gauge({
      name: 'ai_agent_store_pending_writes',
      help: 'Call record writes waiting for the database (growing: the database is slow or unavailable).',
      registers,
      collect() {
        const pending = sources.storePendingWrites?.();
        if (pending !== undefined) this.set(pending);
      },
    });
    new Counter({
      name: 'ai_agent_vad_windows_total',
      help: 'VAD windows (32 ms of a call\'s audio) sent to the VAD workers.',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.vad?.().windows ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_vad_quiet_windows_total',
      help: 'Of those, quiet windows of a settled silent line scored silent without running the speech model (the rest cost an inference).',
      registers,
      collect() {
        this.reset();
        setCounter(this, {}, sources.vad?.().quietWindows ?? 0);
      },
    });
    new Counter({
      name: 'ai_agent_vad_skipped_windows_total',
      help: 'VAD windows that got no speech probability (barge-in and endpointing blind for 32 ms), by reason: stale (workers behind), overflow, failed.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(sources.vad?.().skipped ?? {})) setCounter(this, { reason }, n);
      },
    });
    new Gauge({
      name: 'ai_agent_vad_backlog_windows',
      help: 'VAD windows waiting for a worker.',
      registers,
      collect() {
        const vad = sources.vad?.();
        if (vad) this.set(vad.backlog);
      },
    });
  }

  // --- Call events, fed by MeteredCallStore as records are written ---

  callEnded(context: string, outcome: CallOutcome, durationSeconds: number | undefined): void {
    this.calls.inc({ context: this.contexts.value(context), outcome });
    if (durationSeconds !== undefined && durationSeconds >= 0) this.callDuration.observe(durationSeconds);
  }

  turn(latency: TurnLatency): void {
    for (const [field, stage] of LATENCY_STAGES) {
      const ms = latency[field];
      if (ms !== undefined && Number.isFinite(ms) && ms >= 0) this.turnLatency.observe({ stage }, ms / 1000);
    }
  }

  bargeIn(reactionMs: number | undefined): void {
    this.bargeIns.inc();
    if (reactionMs !== undefined && Number.isFinite(reactionMs) && reactionMs >= 0) this.bargeInReaction.observe(reactionMs / 1000);
  }

  falseBargeIn(reason: string): void {
    this.falseBargeIns.inc({ reason: this.reasons.value(reason) });
  }

  providerError(provider: string, stage: string): void {
    this.providerErrors.inc({ provider: this.providers.value(provider), stage });
  }

  usage(usage: ProviderUsage): void {
    const add = (provider: string, stage: string, unit: string, amount: number): void => {
      if (Number.isFinite(amount) && amount > 0) this.providerUsage.inc({ provider: this.providers.value(provider), stage, unit }, amount);
    };
    for (const [provider, u] of Object.entries(usage.stt)) add(provider, 'stt', 'audio_seconds', u.audioSeconds);
    for (const [provider, u] of Object.entries(usage.tts)) add(provider, 'tts', 'characters', u.characters);
    for (const [provider, u] of Object.entries(usage.llm)) {
      add(provider, 'llm', 'replies', u.replies);
      add(provider, 'llm', 'prompt_tokens', u.promptTokens);
      add(provider, 'llm', 'completion_tokens', u.completionTokens);
      add(provider, 'llm', 'cached_tokens', u.cachedTokens);
    }
  }

  toolCall(tool: string): void {
    this.toolCalls.inc({ tool: this.tools.value(tool) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics of the engine's other processes (`shards:`), merged into this one's at each scrape. */
  mergeFrom(others: () => Promise<Array<MetricObjectWithValues<MetricValue<string>>[]>>): void {
    this.others = others;
  }

  private others: (() => Promise<Array<MetricObjectWithValues<MetricValue<string>>[]>>) | undefined;

  async render(): Promise<string> {
    if (!this.others) return this.registry.metrics();
    // prom-client's cluster rules: counters and histograms add up, gauges by each one's aggregator (sum unless set).
    const all = [await this.registry.getMetricsAsJSON(), ...(await this.others())];
    return AggregatorRegistry.aggregate(all).metrics();
  }
}
