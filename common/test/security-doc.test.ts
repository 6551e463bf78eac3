// SECURITY.md names the test behind each claim: a renamed or deleted test must not leave a claim standing on
// nothing. Every test file the document names exists, and every row of its proof table names at least one.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '@ai-agent/common/testing';

const doc = readFileSync(join(REPO_ROOT, 'SECURITY.md'), 'utf8');
/** A file under a workspace's test folder, as the document names it (a typo in the suffix is still caught). */
const TEST_FILE = /`((?:common|engine|local-ai-server|admin-ui|test-peers|bench)\/test\/[\w./-]+\.ts)`/;

describe('SECURITY.md', () => {
  it('names only test files that exist', () => {
    const named = [...doc.matchAll(new RegExp(TEST_FILE, 'g'))].map((m) => m[1]!);
    assert.ok(named.length >= 20, `only ${named.length} test files named`);
    assert.deepEqual(named.filter((f) => !existsSync(join(REPO_ROOT, f))), []);
  });

  it('backs every claim of its proof table with a test file', () => {
    const section = doc.slice(doc.indexOf('## What proves each claim'), doc.indexOf('## Reporting'));
    const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Claim') && !l.startsWith('|---'));
    assert.ok(rows.length >= 15, `${rows.length} rows`);
    for (const row of rows) assert.match(row.split('|').at(-2) ?? '', TEST_FILE, row);
  });
});
