/** Counts keyed by reason ("bad_version", "unknown_source", …), exported as labelled metrics later. */
export type ReasonCounts = Record<string, number>;

export function countReason(counts: ReasonCounts, reason: string, by = 1): void {
  counts[reason] = (counts[reason] ?? 0) + by;
}
