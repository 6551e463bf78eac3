// A stand-in for telephony's call registry: calls are added by the test and end when it says so, or when
// hung up (after `hangupDelayMs`), writing their end to a call store like a real session would.
import type { CallInfo, CallOutcome } from '../../src/call/index.ts';
import type { CallStore } from '../../src/store/types.ts';
import type { ActiveCall, CallRegistry } from '../../src/telephony/registry.ts';

export interface HangupRequest { id: string; reason: string; message?: string }

export class FakeRegistry implements CallRegistry {
  readonly calls = new Map<string, ActiveCall>();
  readonly hangups: HangupRequest[] = [];

  constructor(private readonly store?: CallStore, private readonly hangupDelayMs = 0) {}

  add(info: Partial<CallInfo> & { id: string }): void {
    const startedAt = new Date().toISOString();
    const full: CallInfo = { context: 'default', transport: 'rtp', codec: 'ulaw', ...info };
    this.calls.set(info.id, { info: full, state: 'listening', startedAt });
    this.store?.begin({ id: full.id, context: full.context, transport: full.transport, codec: full.codec, callerNumber: full.callerNumber, startedAt });
  }

  end(id: string, outcome: CallOutcome, cause?: string): void {
    if (!this.calls.delete(id)) return;
    this.store?.finish(id, { endedAt: new Date().toISOString(), outcome, hangupCause: cause });
  }

  list(): ActiveCall[] {
    return [...this.calls.values()];
  }

  get(id: string): ActiveCall | undefined {
    return this.calls.get(id);
  }

  count(context?: string): number {
    return context ? this.list().filter((c) => c.info.context === context).length : this.calls.size;
  }

  async hangup(id: string, reason: string, message?: string): Promise<boolean> {
    if (!this.calls.has(id)) return false;
    this.hangups.push({ id, reason, message });
    if (message) this.store?.addTurn(id, { speaker: 'agent', text: message, startedAt: new Date().toISOString(), interrupted: false });
    await new Promise((resolve) => setTimeout(resolve, this.hangupDelayMs));
    this.end(id, reason === 'drain' ? 'drained' : 'completed', `hangup: ${reason}`);
    return true;
  }
}
