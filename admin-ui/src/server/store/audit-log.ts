import { scrub } from '@ai-agent/common';
import type { AdminDatabase } from './admin-database.ts';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
  /** Remote address of the request, or `cli`. */
  source: string;
}

const MAX_FIELD = 200;

/**
 * Who did what, when, from where. Append-only: the table's triggers refuse UPDATE and DELETE, so not even
 * this process can rewrite history. Every field is scrubbed before it is stored.
 */
export class AuditLog {
  private readonly insert;
  private readonly page;

  constructor(db: AdminDatabase) {
    this.insert = db.prepare('INSERT INTO audit (at, actor, action, detail, source) VALUES (?, ?, ?, ?, ?)');
    this.page = db.prepare('SELECT id, at, actor, action, detail, source FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?');
  }

  record(actor: string, action: string, detail: Record<string, unknown>, source: string): void {
    const clip = (text: string): string => scrub(text).slice(0, MAX_FIELD);
    this.insert.run(new Date().toISOString(), clip(actor), clip(action), scrub(JSON.stringify(detail)), clip(source));
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  list(limit: number, before = Number.MAX_SAFE_INTEGER): AuditEntry[] {
    const rows = this.page.all(before, limit) as Array<Omit<AuditEntry, 'detail'> & { detail: string }>;
    return rows.map((row) => ({ ...row, detail: JSON.parse(row.detail) as Record<string, unknown> }));
  }
}
