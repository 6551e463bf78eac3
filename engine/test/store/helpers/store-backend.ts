import type { RedactionPolicy, ToolArgumentsPolicy } from '../../../src/store/record-redaction.ts';
import type { ManagedCallStore } from '../../../src/store/types.ts';

/**
 * One database kind under the shared call-store cases: how to get an empty database, open a store on it, and look
 * at what it holds from outside the store (another connection, the file itself).
 */
export interface StoreBackend {
  name: string;
  /** A fresh, empty database (a file path, a connection URL). */
  fresh(): Promise<string>;
  /** A store on `location`; `engineId` names the engine where the database is shared. */
  open(location: string, options?: { redaction?: RedactionPolicy; engineId?: string }): ManagedCallStore;
  /** Everything the database holds, as text (the file's bytes, a dump): for "never stored" checks. */
  stored(location: string): Promise<string>;
  /** A connection of its own, for reading counts while a store works. */
  probe(location: string): Promise<StoreProbe>;
  /** Another connection takes the write lock on the calls and holds it for `holdMs`; resolves once it is held, to when. */
  lockWrites(location: string, holdMs: number): Promise<number>;
  /** Writes `count` calls ended on 2025-01-01 (ids `old-<n>`, five turns each) straight into the database. */
  seedEndedCalls(location: string, count: number): Promise<void>;
}

export interface StoreProbe {
  /** Calls whose id starts with `prefix`. */
  callsWithPrefix(prefix: string): Promise<number>;
  /** Rows of `table` for one call. */
  rowsOf(table: 'turns' | 'events', callId: string): Promise<number>;
  close(): Promise<void>;
}

export function policy(toolArguments: ToolArgumentsPolicy = 'redacted', showPhoneNumbers = false): RedactionPolicy {
  return { toolArguments: () => toolArguments, showPhoneNumbers: () => showPhoneNumbers };
}
