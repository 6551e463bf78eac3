/** Why an outbound request did not get an answer. `refused` is the egress policy; the rest are the network's. */
export type EgressFailure = 'refused' | 'dns' | 'timeout' | 'aborted' | 'too_large' | 'too_many_redirects' | 'network';

/**
 * An outbound request that failed. The message names hosts and addresses but never headers or bodies, so it
 * may be logged and shown to a model.
 */
export class EgressError extends Error {
  constructor(readonly failure: EgressFailure, message: string) {
    super(message);
    this.name = 'EgressError';
  }

  /** Worth another attempt (the network, not the policy or the answer's size). */
  get transient(): boolean {
    return this.failure === 'dns' || this.failure === 'timeout' || this.failure === 'network';
  }
}
