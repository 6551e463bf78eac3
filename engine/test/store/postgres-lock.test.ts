import { after, before, describe } from 'node:test';
import { startPostgres, type PostgresServer } from '@ai-agent/common/testing';
import { contentionCases } from './helpers/call-store-cases.ts';
import { postgresBackend } from './helpers/postgres-backend.ts';

// Another connection holding the write lock on the calls, and a large purge: the shared contention cases on a
// real PostgreSQL server. They measure the event loop's timing, so this file runs alone.
let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

describe('call store under a locked database (PostgreSQL)', () => {
  contentionCases(postgresBackend(() => server));
});
