import type { Logger } from '@ai-agent/common';

export interface LoggedLine {
  level: string;
  message: string;
  /** Every field of the line, its child bindings included, as JSON: what the log would hold. */
  json: string;
}

/** A logger that keeps every line (at every level) for the test to read, in the order written. */
export function captureLog(): { log: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (fields: unknown, message?: string): void => {
      const [obj, msg] = typeof fields === 'string' ? [{}, fields] : [fields as Record<string, unknown>, message ?? ''];
      lines.push({ level, message: msg, json: JSON.stringify({ ...bindings, ...obj, msg }) });
    };
    return {
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
      trace: write('trace'),
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      fatal: write('fatal'),
    } as unknown as Logger;
  };
  return { log: make({}), lines };
}
