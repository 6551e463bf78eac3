/** How long a provider that failed is skipped before a request probes it again (a context may set its own). */
export const DEFAULT_RETRY_PRIMARY_MS = 30_000;

export interface HealthSnapshot {
  provider: string;
  stage: 'stt' | 'llm' | 'tts';
  healthy: boolean;
  /** When a request will probe it again (0 while healthy). */
  retryAt: number;
  failures: number;
}

/**
 * Whether one provider's stage is worth trying. A failure marks it unhealthy for a while, so calls go straight
 * to their fallback instead of each paying the failing provider's timeout; the first request after that
 * probes it again, and a success marks it healthy. Shared by every context that uses it as a primary.
 */
export class ProviderHealth {
  private retryAt = 0;
  private failures = 0;

  constructor(
    readonly provider: string,
    readonly stage: HealthSnapshot['stage'],
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the provider should be tried: healthy, or its time out is over (this request is the probe). */
  get usable(): boolean {
    return this.now() >= this.retryAt;
  }

  failed(retryAfterMs: number): void {
    this.failures++;
    this.retryAt = this.now() + retryAfterMs;
  }

  succeeded(): void {
    this.retryAt = 0;
  }

  snapshot(): HealthSnapshot {
    const healthy = this.retryAt === 0 || this.usable;
    return { provider: this.provider, stage: this.stage, healthy, retryAt: healthy ? 0 : this.retryAt, failures: this.failures };
  }
}
