import type { ReasonCounts } from '../../transport/counters.ts';
import type { Admission, AdmissionDecision } from '../../telephony/admission.ts';

/** The part of the `limits:` config admission reads, at every decision (so a reload applies to the next call). */
export interface AdmissionLimits {
  readonly max_concurrent_calls: number;
  readonly per_context: Readonly<Record<string, number>>;
  readonly busy_message: string;
}

export type RefusalReason = 'draining' | 'global_limit' | 'context_limit';

/**
 * Concurrency limits, global and per context. It counts admitted calls itself (admit → +1, release → −1), so
 * two calls arriving together cannot both take the last slot, whatever the registry has seen yet.
 */
export class AdmissionControl implements Admission {
  readonly refusals: ReasonCounts = {};
  private active = 0;
  private readonly perContext = new Map<string, number>();
  private draining = false;

  constructor(private readonly limits: () => AdmissionLimits) {}

  tryAdmit(context: string): AdmissionDecision {
    const limits = this.limits();
    const reason = this.refusalFor(context, limits);
    if (reason) {
      this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
      return { admit: false, reason, message: limits.busy_message };
    }
    this.active++;
    this.perContext.set(context, (this.perContext.get(context) ?? 0) + 1);
    let released = false;
    return {
      admit: true,
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        const left = (this.perContext.get(context) ?? 1) - 1;
        if (left > 0) this.perContext.set(context, left);
        else this.perContext.delete(context);
      },
    };
  }

  private refusalFor(context: string, limits: AdmissionLimits): RefusalReason | undefined {
    if (this.draining) return 'draining';
    if (this.active >= limits.max_concurrent_calls) return 'global_limit';
    const cap = limits.per_context[context];
    if (cap !== undefined && (this.perContext.get(context) ?? 0) >= cap) return 'context_limit';
    return undefined;
  }

  /** Refuses every new call from now on (shutdown). */
  startDraining(): void {
    this.draining = true;
  }

  get admitted(): number {
    return this.active;
  }
}
