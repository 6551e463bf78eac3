import type { Admission, AdmissionDecision } from '../../telephony/admission.ts';
import type { IpcPeer } from './ipc-peer.ts';

/** Process 1's answer to an `admit` request: a token to release the slot with, or the refusal. */
export type RemoteDecision = { admit: true; token: number } | { admit: false; reason: string; message: string };

/**
 * Admission in engine processes 2…N: process 1 counts every call of the engine, so `limits:` hold for the whole
 * engine as they do for one process. Without process 1 there is no answer, and the call is refused.
 */
export class IpcAdmission implements Admission {
  constructor(private readonly peer: IpcPeer, private readonly busyMessage: () => string) {}

  async tryAdmit(context: string): Promise<AdmissionDecision> {
    let answer: RemoteDecision;
    try {
      answer = await this.peer.request<RemoteDecision>('admit', context);
    } catch {
      return { admit: false, reason: 'draining', message: this.busyMessage() };
    }
    if (!answer.admit) return answer;
    // Process 1 gives a token's slot back once; a second release of it finds nothing to give.
    return { admit: true, release: () => void this.peer.note('release', answer.token) };
  }
}
