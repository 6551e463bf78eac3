/**
 * The call database cannot answer now (an outage, or given up after one): a read is refused rather than answered
 * stale, while writes wait for it. Callers tell it from a failing query by its class.
 */
export class CallStoreUnavailable extends Error {
  constructor() {
    super('the call database is unavailable');
    this.name = 'CallStoreUnavailable';
  }
}
