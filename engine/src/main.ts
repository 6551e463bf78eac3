// Composition root: load config, build the graph, start, stop on signals. No logic of its own.
// Size: over 300 lines because every part is built and wired here in start order; each part's own logic is in it.
import { dirname, join } from 'node:path';
import {
  AuthFailureLimiter,
  BindPolicyError,
  ConfigError,
  RequestVerifier,
  applyEnvAliases,
  createLogger,
  exitWithError,
  installOutputScrubber,
  isLoopbackHost,
  missingRecommendation,
  registerEnvSecrets,
  resolveBindHost,
  scrubber,
  type ContextConfig,
  type EngineConfig,
  type EnvNotice,
} from '@ai-agent/common';
import { AuthGuard } from './control/auth-guard.ts';
import { Readiness } from './control/readiness.ts';
import { buildControlServer } from './control/server.ts';
import { onShutdownSignals } from './control/lifecycle/shutdown-signals.ts';
import { buildOperations, type EngineOperations } from './control/operations.ts';
import type { Closer } from './control/lifecycle/drain.ts';
import { configPath, fromRepoRoot, isDemoMode, loadEngineConfig, loadEngineSecrets } from './config/runtime-config.ts';
import { createMediaTransports } from './transport/create-media-transports.ts';
import { VadService, defaultVadWorkers } from './pipeline/vad/vad-service.ts';
import { EngineShards } from './control/shards/engine-shards.ts';
import { GreetingCache } from './pipeline/greeting-cache.ts';
import { fillVariables, hasVariables } from './pipeline/context-variables.ts';
import { conversationFactory } from './pipeline/conversation-factory.ts';
import { ProviderRegistry } from './providers/registry.ts';
import { buildTelephony } from './telephony/build-telephony.ts';
import { TestCalls } from './telephony/test-call-session.ts';
import { testCallRoute } from './control/routes/test-call-route.ts';
import { simulationRoutes } from './control/routes/simulation-route.ts';
import { Simulator } from './telephony/simulation/simulator.ts';
import { synthesiseWhole } from './pipeline/synthesise-whole.ts';
import { HostResolver } from './egress/host-resolver.ts';
import { HttpTools } from './tools/http/http-tools.ts';
import { McpServers } from './tools/mcp/mcp-servers.ts';
import { mcpRoutes } from './control/routes/mcp-routes.ts';
import { Webhooks } from './webhooks/webhooks.ts';
import { startChecksInBackground } from './doctor/start-checks.ts';
import type { ConversationFactory } from './call/index.ts';

const VERSION = '0.1.0';
/** Longest synthesis of one of the simulated caller's turns. */
const SYNTHESIS_TIMEOUT_MS = 30_000;

/** Settings that are read once at start, so a reload reports them as needing a restart. */
const RESTART_KEYS = {
  media: ['media'],
  telephony: ['telephony'],
  providers: ['providers'],
  egress: ['egress'],
  webhooks: ['webhooks'],
  mcp: ['mcp'],
  processes: ['shards'],
};

async function main(): Promise<void> {
  registerEnvSecrets();
  installOutputScrubber();
  let config: EngineConfig;
  let secrets;
  let healthHost: string;
  let aliasNotices: EnvNotice[];
  try {
    // Another engine's variable names (ASTERISK_ARI_USERNAME, ...) become ours before anything reads them.
    aliasNotices = applyEnvAliases();
    secrets = loadEngineSecrets();
    config = loadEngineConfig();
  } catch (err) {
    if (err instanceof ConfigError) exitWithError(err.line());
    throw err;
  }
  scrubber.showPhoneNumbers = config.logging.show_phone_numbers;
  const rootLog = createLogger({ service: 'engine', level: config.logging.level });
  installOutputScrubber(rootLog);
  // Several processes (`shards:`): each applies its place to every load of the config, reloads included.
  let shards: EngineShards;
  try {
    shards = EngineShards.plan(config, process.env, rootLog);
  } catch (err) {
    if (err instanceof ConfigError) exitWithError(new ConfigError(err.key, err.reason, configPath()).line());
    throw err;
  }
  config = shards.configFor(config);
  const log = shards.place.count > 1 ? rootLog.child({ shard: shards.place.index }) : rootLog;
  if (!shards.isShard) for (const notice of aliasNotices) log[notice.level](notice.message);
  try {
    // Processes 2…N answer process 1 only: their control port is loopback whatever HEALTH_HOST says.
    healthHost = shards.isShard ? '127.0.0.1' : resolveBindHost('health', process.env, log);
  } catch (err) {
    if (err instanceof BindPolicyError) exitWithError(`refusing to start: ${err.message}`);
    throw err;
  }
  const noToken = missingRecommendation('health');
  if (!isLoopbackHost(healthHost) && noToken) log.warn(noToken);

  const readiness = new Readiness();
  for (const check of ['ari', 'transports', 'providers']) readiness.declare(check);
  const guard = new AuthGuard({
    log,
    token: secrets.healthApiToken,
    verifier: new RequestVerifier({ callers: secrets.callers }),
    limiter: new AuthFailureLimiter(config.control.auth_failures_per_minute, 60_000),
    // Combined with HEALTH_TRUST_LOOPBACK (default on; off behind a local reverse proxy).
    trustLoopback: true,
  });

  // HTTP tools read their header secrets now, and again on every reload: a missing one names its key.
  const resolver = new HostResolver(config.egress.dns_servers);
  const httpTools = new HttpTools({ egress: config.egress, resolver, log });
  const loadConfig = (): EngineConfig => {
    const loaded = shards.configFor(loadEngineConfig());
    httpTools.prepare(loaded.contexts);
    return loaded;
  };
  try {
    httpTools.prepare(config.contexts);
  } catch (err) {
    if (err instanceof ConfigError) exitWithError(new ConfigError(err.key, err.reason, configPath()).line());
    throw err;
  }

  // MCP servers read their env/header secrets now (a missing one names its key); they start below.
  let mcp: McpServers;
  try {
    mcp = new McpServers({ config: config.mcp, egress: config.egress, resolver, log });
  } catch (err) {
    if (err instanceof ConfigError) exitWithError(new ConfigError(err.key, err.reason, configPath()).line());
    throw err;
  }

  // Operations: call records, metrics, limits, hot reload, drain.
  let ops: EngineOperations;
  try {
    ops = buildOperations({ log, config, loadConfig, guard, readiness, restartKeys: RESTART_KEYS, databaseUrl: secrets.databaseUrl, records: shards.records() });
  } catch (err) {
    exitWithError(`refusing to start: ${(err as Error).message}`);
  }
  await ops.start().catch((err: Error) => exitWithError(`refusing to start: call store: ${err.message}`));

  // Signals are handled from here on: whatever has started by then is drained and closed, in this order.
  const closers: Closer[] = [];
  let stopAccepting = (): void => undefined;
  onShutdownSignals(async () => {
    await ops.shutdown({ stopAccepting: () => stopAccepting(), closers });
  }, log);
  // Process 1 starts the others now, so they load while it does; a caller of one that stops is hung up here.
  let hangupChannel = async (_channelId: string): Promise<void> => undefined;
  // Without ARI no caller can be moved: the other processes would only sit idle.
  const pool = secrets.ariPassword ? shards.startPool(ops, (channelId) => hangupChannel(channelId), log) : null;
  if (pool) closers.push(pool);

  // Providers are checked against every context before anything listens.
  // A vendor key missing from the environment is a ConfigError naming its env var.
  let providers: ProviderRegistry;
  try {
    providers = new ProviderRegistry(config.providers, log);
    providers.validate(config.contexts);
  } catch (err) {
    if (err instanceof ConfigError) exitWithError(new ConfigError(err.key, err.reason, configPath()).line());
    throw err;
  }

  // Signed webhooks: the pre-call lookup, and post-call events from a durable outbox whose leftovers are resumed.
  let webhooks: Webhooks | null;
  try {
    webhooks = await Webhooks.start({ config: config.webhooks, egress: config.egress, resolver, outboxDir: fromRepoRoot(config.webhooks.outbox.dir), log });
  } catch (err) {
    if (err instanceof ConfigError) exitWithError(err.line());
    throw err;
  }
  if (webhooks) closers.push({ name: 'webhooks', close: () => webhooks.close() });

  const providerHealth = () => providers.health();
  ops.sources.providerHealth = providerHealth;
  const demo = isDemoMode();
  if (demo) log.info('demo mode: ARI is the built-in test Asterisk started by npm start; set ARI_PASSWORD to use your own');
  // Browser test calls from the admin UI: accepted once telephony (below) is up.
  let testCalls: TestCalls | null = null;
  let simulator: Simulator | null = null;
  const routes = [...ops.routes(), testCallRoute({ calls: () => testCalls, log }), simulationRoutes({ simulator: () => simulator, log })];
  routes.push(mcpRoutes({ test: (id) => mcp.test(id), log }));
  const control = buildControlServer({ log, guard, readiness, version: VERSION, routes, providerHealth, demo });
  await control.listen({ host: healthHost, port: config.control.port });
  closers.push({ name: 'control server', close: () => control.close() });
  log.info({ address: control.server.address(), config: configPath() }, 'engine control server listening');

  let media;
  try {
    const { transport, websocket_connection } = config.telephony;
    media = await createMediaTransports(config.media, log, { websocketListener: transport === 'websocket' && websocket_connection === 'client' });
  } catch (err) {
    if (err instanceof BindPolicyError) exitWithError(`refusing to start: ${err.message}`);
    throw err;
  }
  readiness.set('transports', true);
  closers.unshift({ name: 'media listeners', close: () => media.close() });
  ops.sources.pacer = () => media.pacer.stats;
  ops.sources.mediaBursts = () => media.rtp.counters;
  const { audiosocket, websocket } = media;
  ops.sources.listenerRejections = () => {
    const rejections: Array<[string, typeof audiosocket.counters.rejected]> = [['audiosocket', audiosocket.counters.rejected]];
    if (websocket) rejections.push(['websocket', websocket.counters.rejected]);
    return rejections;
  };

  // Closed even when a stop signal comes while its workers still load the model: a process that exits under
  // a loading onnxruntime aborts.
  const vadStarting = VadService.start({ log, workers: shards.vadWorkers(defaultVadWorkers()) });
  // Listed before calls are taken, so the first call already offers the servers' tools.
  const mcpStarting = mcp.start();
  closers.push({ name: 'MCP servers', close: () => mcp.close() });
  closers.unshift(
    { name: 'VAD', close: async () => (await vadStarting.catch(() => null))?.close() },
    { name: 'providers', close: () => providers.close() },
  );
  const vad = await vadStarting;
  ops.sources.vad = () => vad.stats;
  const greetings = new GreetingCache();
  const build = conversationFactory({
    vad,
    providers,
    greetings,
    toolsFor: (name, context) => [...httpTools.forContext(name, context), ...mcp.forContext(context)],
    variablesFor: webhooks ? (info) => webhooks.variablesFor(info) : undefined,
    // The snapshot is deep-frozen: a conversation can read its context but never change it for others.
    // The global per-call ceiling (limits.max_call_seconds) caps every context's own.
    contextFor: (name) => {
      const { contexts, limits } = ops.config.current().config;
      const context = (contexts[name] ?? contexts.default) as ContextConfig;
      if (context.limits.max_call_seconds <= limits.max_call_seconds) return context;
      return { ...context, limits: { ...context.limits, max_call_seconds: limits.max_call_seconds } };
    },
  });
  const conversations: ConversationFactory = (request) => {
    const untrack = ops.mediaTotals.track(request.media.counters);
    request.media.once('close', untrack);
    return build(request);
  };
  conversations.prepare = build.prepare;
  // Greetings are synthesised ahead so the first audio plays at once. Until that works (e.g. the local AI server
  // is still starting) /ready says 'providers' and we retry.
  // A greeting with {{variables}} is warmed as it sounds when the pre-call lookup falls back to its defaults (the
  // cache then serves those calls); one whose variables have no default differs per call and is not synthesised.
  const greetingDefaults = config.webhooks?.pre_call?.defaults ?? {};
  const warmGreeting = async (tts: Parameters<GreetingCache['warm']>[0], greeting: string, voice: string | undefined): Promise<void> => {
    const text = fillVariables(greeting, greetingDefaults);
    if (!hasVariables(text)) await greetings.warm(tts, text, voice);
  };
  const warmGreetings = (attempt: number): void => {
    void Promise.all(
      Object.entries(config.contexts).map(([name, ctx]) =>
        // An agent context's greeting is spoken by the agent itself: nothing to synthesise ahead.
        ctx.greeting && ctx.provider.type === 'pipeline' ? warmGreeting(providers.forContext(name, ctx).tts, ctx.greeting, ctx.voice) : undefined,
      ),
    ).then(
      () => {
        readiness.set('providers', true);
        log.info('providers ready: greetings synthesised');
      },
      (err: unknown) => {
        if (attempt === 0 || attempt % 12 === 0) log.warn({ err: { message: (err as Error).message } }, 'providers not ready yet; retrying');
        setTimeout(() => warmGreetings(attempt + 1), 5000).unref();
      },
    );
  };
  warmGreetings(0);

  const callStore = webhooks ? webhooks.observe(ops.store) : ops.store;
  await mcpStarting;
  const telephony = buildTelephony({
    config,
    ariPassword: secrets.ariPassword,
    media,
    conversations,
    admission: shards.admission(ops.admission, () => ops.config.current().config.limits.busy_message),
    store: callStore,
    log,
    dispatch: shards.dispatch(),
  });
  const ari = telephony.ari;
  if (ari) hangupChannel = async (channelId) => void (await ari.api.channels.hangup({ channelId }));
  if (ari) ops.sources.ariBadEvents = () => ari.counters.badEvents;
  telephony.ari?.on('connected', () => readiness.set('ari', true));
  telephony.ari?.on('disconnected', () => readiness.set('ari', false));
  ops.attachRegistry(shards.registry(telephony.registry));
  // The active-calls gauge counts this process's calls; the others' come with their metrics.
  ops.sources.activeCalls = () => telephony.registry.list().map((call) => call.info);
  shards.link(ops, telephony, media.audiosocket, log);
  shards.spreadDialplanCalls(media.audiosocket, telephony.registry);
  const testCallDeps = {
    conversations,
    admission: ops.admission,
    store: callStore,
    registry: telephony.registry,
    contexts: () => ops.config.current().config.contexts,
    pacer: media.pacer,
    stream: { resamplerQuality: config.media.resampler_quality, jitterMinDelayMs: config.media.jitter.min_delay_ms, jitterMaxDelayMs: config.media.jitter.max_delay_ms, maxQueueSeconds: config.media.max_queue_seconds },
    log,
  };
  testCalls = new TestCalls(testCallDeps);
  // The call simulator's caller speaks with the context's own TTS, in the scenario's caller voice.
  simulator = new Simulator({
    ...testCallDeps,
    scenarioDir: join(dirname(configPath()), 'scenarios'),
    speak: (name, text, voice, rate) => {
      const context = ops.config.current().config.contexts[name] as ContextConfig;
      return synthesiseWhole(providers.forContext(name, context).tts, text, voice, rate, AbortSignal.timeout(SYNTHESIS_TIMEOUT_MS));
    },
  });
  telephony.start();
  // What `npm run doctor` would say about Asterisk, media addresses, the local AI server and the data directory.
  if (!shards.isShard) startChecksInBackground({ config, env: process.env, ariPassword: secrets.ariPassword, log });

  stopAccepting = () => telephony.stopAccepting();
  closers.unshift({ name: 'ARI', close: () => telephony.close() });
}

main().catch((err: unknown) => exitWithError(`engine failed to start: ${err instanceof Error ? err.message : String(err)}`, 1));
