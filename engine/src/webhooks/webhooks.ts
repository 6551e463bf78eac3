import { ConfigError, EgressAllowlist, readSecret, serviceSecretVar, type EgressConfig, type Logger, type WebhooksConfig } from '@ai-agent/common';
import type { CallInfo } from '../call/index.ts';
import { EgressClient } from '../egress/egress-client.ts';
import { EgressGuard } from '../egress/egress-guard.ts';
import type { HostResolver } from '../egress/host-resolver.ts';
import type { CallStore } from '../store/types.ts';
import { Outbox } from './outbox.ts';
import { OutboxDispatcher } from './outbox-dispatcher.ts';
import { PostCallEvents } from './post-call-events.ts';
import { PreCallLookup } from './pre-call-lookup.ts';
import { WEBHOOK_SERVICE, WebhookSender } from './webhook-sender.ts';

export interface WebhooksOptions {
  config: WebhooksConfig;
  /** Webhooks go only where the global egress allowlist lets them, and follow no redirects. */
  egress: EgressConfig;
  resolver: HostResolver;
  /** The outbox folder, absolute. */
  outboxDir: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/** The pre-call lookup and the post-call outbox with its dispatcher, as configured under `webhooks:`. */
export class Webhooks {
  private postCall: PostCallEvents | null = null;

  private constructor(
    private readonly preCall: PreCallLookup | null,
    private readonly outbox: { outbox: Outbox; dispatcher: OutboxDispatcher } | null,
    private readonly opts: WebhooksOptions,
  ) {}

  /**
   * Null when no webhook is configured. Otherwise SERVICE_SECRET_ENGINE must be set (a ConfigError names it),
   * and the outbox left by a previous run is loaded and its delivery resumed.
   */
  static async start(opts: WebhooksOptions): Promise<Webhooks | null> {
    const { pre_call, post_call, outbox: settings } = opts.config;
    if (!pre_call && !post_call) return null;
    const secretVar = serviceSecretVar(WEBHOOK_SERVICE);
    const secret = readSecret(secretVar, opts.env, 32);
    if (!secret) throw new ConfigError(secretVar, 'is required to sign webhooks (webhooks.pre_call or webhooks.post_call is set)');
    const client = new EgressClient(new EgressGuard(new EgressAllowlist(opts.egress.allow), opts.resolver), 0);
    const sender = new WebhookSender(client, secret);
    const log = opts.log.child({ component: 'webhooks' });
    let delivery: { outbox: Outbox; dispatcher: OutboxDispatcher } | null = null;
    if (post_call) {
      const outbox = new Outbox(opts.outboxDir, settings.max_events);
      const { pending, unreadable } = await outbox.open();
      if (unreadable) log.error({ unreadable }, 'unreadable files in the webhook outbox were moved to its failed/ folder');
      if (pending) log.info({ pending }, 'webhook events left by the previous run will be delivered');
      const dispatcher = new OutboxDispatcher({
        outbox,
        sender,
        timeoutMs: post_call.timeout_ms,
        retryInitialMs: settings.retry_initial_ms,
        retryMaxMs: settings.retry_max_ms,
        giveUpAfterMs: settings.give_up_after_hours * 3_600_000,
        log,
      });
      dispatcher.start();
      delivery = { outbox, dispatcher };
    }
    return new Webhooks(pre_call ? new PreCallLookup(pre_call, sender, log) : null, delivery, { ...opts, log });
  }

  /** The call store telephony writes to, queueing each finished call for the post-call webhook. */
  observe(store: CallStore): CallStore {
    const { post_call } = this.opts.config;
    if (!this.outbox || !post_call) return store;
    const { outbox, dispatcher } = this.outbox;
    this.postCall = new PostCallEvents(store, post_call, outbox, () => dispatcher.notify(), this.opts.log);
    return this.postCall;
  }

  /** The pre-call lookup of one call, when its context has one. */
  variablesFor(call: CallInfo): ((signal: AbortSignal) => Promise<Record<string, string>>) | undefined {
    const lookup = this.preCall;
    if (!lookup?.appliesTo(call.context)) return undefined;
    return (signal) => lookup.variables(call, signal);
  }

  /** Queues the events of calls that already ended, then stops delivering (what is left stays on disk). */
  async close(): Promise<void> {
    await this.postCall?.settle();
    await this.outbox?.dispatcher.close();
  }
}
