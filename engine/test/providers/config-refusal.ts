import assert from 'node:assert/strict';
import { ConfigError } from '@ai-agent/common';

/** Asserts that `fn` throws a ConfigError naming `key` (and, if given, a reason matching `reason`). */
export function refusedAt(key: string, fn: () => unknown, reason?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.key, key, err.message);
    if (reason) assert.match(err.reason, reason);
    return true;
  });
}
