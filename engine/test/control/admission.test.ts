import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdmissionControl, type AdmissionLimits } from '../../src/control/lifecycle/admission-control.ts';

const LIMITS: AdmissionLimits = { max_concurrent_calls: 3, per_context: { sales: 1 }, busy_message: 'sound:all-circuits-busy-now' };

/** Admits `context` and returns its release, failing the test if it was refused. */
function admit(admission: AdmissionControl, context: string): () => void {
  const decision = admission.tryAdmit(context);
  assert.ok(decision.admit, `${context} admitted`);
  return decision.release;
}

const reasonOf = (admission: AdmissionControl, context: string): string | undefined => {
  const decision = admission.tryAdmit(context);
  return decision.admit ? undefined : decision.reason;
};

describe('AdmissionControl', () => {
  it('admits up to the per-context ceiling, then refuses with the busy message', () => {
    const admission = new AdmissionControl(() => LIMITS);
    const release = admit(admission, 'sales');
    assert.deepEqual(admission.tryAdmit('sales'), { admit: false, reason: 'context_limit', message: 'sound:all-circuits-busy-now' });
    // Another context is not held back by it.
    admit(admission, 'support');
    release();
    admit(admission, 'sales');
  });

  it('holds the global ceiling across contexts; release frees a slot once, however often called', () => {
    const admission = new AdmissionControl(() => LIMITS);
    admit(admission, 'sales');
    admit(admission, 'support');
    const release = admit(admission, 'billing');
    assert.equal(admission.admitted, 3);
    assert.equal(reasonOf(admission, 'billing'), 'global_limit');
    release();
    release();
    assert.equal(admission.admitted, 2);
    admit(admission, 'billing');
    assert.equal(reasonOf(admission, 'other'), 'global_limit');
  });

  it('reads the limits at each decision, so a reload applies to the next call', () => {
    let limits = LIMITS;
    const admission = new AdmissionControl(() => limits);
    for (const context of ['a', 'b', 'c']) admit(admission, context);
    assert.equal(reasonOf(admission, 'd'), 'global_limit');
    limits = { ...limits, max_concurrent_calls: 5 };
    admit(admission, 'd');
  });

  it('refuses everything once draining, and counts refusals by reason', () => {
    const admission = new AdmissionControl(() => LIMITS);
    admit(admission, 'sales');
    assert.equal(reasonOf(admission, 'sales'), 'context_limit');
    admit(admission, 'a');
    admit(admission, 'b');
    assert.equal(reasonOf(admission, 'c'), 'global_limit');
    assert.equal(reasonOf(admission, 'c'), 'global_limit');
    admission.startDraining();
    assert.equal(reasonOf(admission, 'brand-new'), 'draining');
    assert.deepEqual(admission.refusals, { context_limit: 1, global_limit: 2, draining: 1 });
  });
});
