// Counts of refused work, logged periodically and at shutdown (the engine exposes metrics; this server only logs).
export interface Counters {
  connections: number;
  authFailures: number;
  refusedConnections: number;
  rejected: number;
  /** Connections closed because they stopped reading what they asked for. */
  slowClients: number;
}

export function newCounters(): Counters {
  return { connections: 0, authFailures: 0, refusedConnections: 0, rejected: 0, slowClients: 0 };
}
