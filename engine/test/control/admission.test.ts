import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdmissionControl, type AdmissionLimits } from '../../src/control/lifecycle/admission-control.ts';

describe('AdmissionControl', () => {
  let limits: AdmissionLimits = { max_concurrent_calls: 3, per_context: { sales: 1 }, busy_message: 'sound:all-circuits-busy-now' };
  const admission = new AdmissionControl(() => limits);

  it('admits up to the per-context ceiling, then refuses with the busy message', () => {
    const first = admission.tryAdmit('sales');
    assert.equal(first.admit, true);
    assert.deepEqual(admission.tryAdmit('sales'), { admit: false, reason: 'context_limit', message: 'sound:all-circuits-busy-now' });
    // Another context is not held back by it.
    assert.equal(admission.tryAdmit('support').admit, true);
    if (first.admit) first.release();
    assert.equal(admission.tryAdmit('sales').admit, true);
  });

  it('holds the global ceiling across contexts; release frees a slot once, however often called', () => {
    // sales 1 + support 1 admitted above.
    const third = admission.tryAdmit('billing');
    assert.equal(third.admit, true);
    assert.equal(admission.admitted, 3);
    assert.equal((admission.tryAdmit('billing') as { reason: string }).reason, 'global_limit');
    if (third.admit) { third.release(); third.release(); }
    assert.equal(admission.admitted, 2);
    assert.equal(admission.tryAdmit('billing').admit, true);
    assert.equal(admission.tryAdmit('other').admit, false);
  });

  it('reads the limits at each decision, so a reload applies to the next call', () => {
    limits = { ...limits, max_concurrent_calls: 5 };
    assert.equal(admission.tryAdmit('other').admit, true);
  });

  it('refuses everything once draining, and counts refusals by reason', () => {
    admission.startDraining();
    assert.equal((admission.tryAdmit('brand-new') as { reason: string }).reason, 'draining');
    assert.deepEqual(admission.refusals, { context_limit: 1, global_limit: 2, draining: 1 });
  });
});
