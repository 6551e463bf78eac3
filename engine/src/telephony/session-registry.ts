import type { Logger } from '@ai-agent/common';
import type { CallInfo, CallOutcome } from '../call/index.ts';
import type { ActiveCall, CallRegistry } from './registry.ts';

/** What the registry needs of a live call, whichever way it arrived (ARI Stasis or dialplan AudioSocket). */
export interface ManagedSession {
  readonly id: string;
  readonly info: CallInfo;
  /** Resolves once the call has ended and released everything. */
  readonly done: Promise<void>;
  snapshot(): ActiveCall;
  hangupWithMessage(outcome: CallOutcome, message?: string): Promise<void>;
}

/** The live calls of this engine: the control API, limits and drain read it. */
export class SessionRegistry implements CallRegistry {
  private readonly sessions = new Map<string, ManagedSession>();

  constructor(private readonly log: Logger) {}

  add(session: ManagedSession): void {
    this.sessions.set(session.id, session);
    void session.done.then(() => this.sessions.delete(session.id));
  }

  values(): IterableIterator<ManagedSession> {
    return this.sessions.values();
  }

  list(): ActiveCall[] {
    return [...this.sessions.values()].map((s) => s.snapshot());
  }

  get(id: string): ActiveCall | undefined {
    return this.sessions.get(id)?.snapshot();
  }

  count(context?: string): number {
    if (!context) return this.sessions.size;
    let n = 0;
    for (const s of this.sessions.values()) if (s.info.context === context) n++;
    return n;
  }

  async hangup(id: string, reason: string, message?: string): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session) return false;
    this.log.info({ callId: id, reason }, 'hangup requested');
    await session.hangupWithMessage(reason === 'drain' ? 'drained' : 'completed', message);
    return true;
  }

  /** Resolves when every current call has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.done));
  }
}
