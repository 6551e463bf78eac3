import { signRequest } from '@ai-agent/common';
import type { EgressClient, EgressResponse } from '../egress/egress-client.ts';

/** The service id webhooks are signed as (receivers verify with SERVICE_SECRET_ENGINE). */
export const WEBHOOK_SERVICE = 'engine';

/** Webhook answers are small: a receipt, or a pre-call lookup's variables. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs a webhook event, HMAC-signed like every service-to-service request of the product (x-ai-service,
 * -timestamp, -nonce, -signature over the method, path and body), with a fresh timestamp and nonce per attempt.
 * `x-ai-event-id` stays the same across attempts, so a receiver can drop a repeat. No redirects are followed.
 */
export class WebhookSender {
  constructor(private readonly client: EgressClient, private readonly secret: string) {}

  post(url: URL, eventId: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<EgressResponse> {
    const signature = signRequest(WEBHOOK_SERVICE, this.secret, { method: 'POST', path: `${url.pathname}${url.search}`, body });
    return this.client.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'x-ai-event-id': eventId, ...signature },
      body,
      timeoutMs,
      maxResponseBytes: MAX_ANSWER_BYTES,
      signal,
    });
  }
}
