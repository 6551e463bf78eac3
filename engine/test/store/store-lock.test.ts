import { describe } from 'node:test';
import { contentionCases } from './helpers/call-store-cases.ts';
import { sqliteBackend } from './helpers/sqlite-backend.ts';

// Another process holding the SQLite file's write lock, and a large purge: the shared contention cases.
describe('call store under a locked database (SQLite)', () => {
  contentionCases(sqliteBackend());
});
