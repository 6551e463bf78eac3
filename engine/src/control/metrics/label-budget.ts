const LABEL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The value every label falls back to once its budget is spent or its text is unfit. */
export const OTHER_LABEL = 'other';

/**
 * Keeps one metric label's set of values bounded, whatever feeds it: the first `max` distinct well-formed
 * values are kept, any later one (or any value that is not a short plain token) is reported as "other".
 * Reasons and stages are fixed enums in the code and contexts are config-defined, so the budget is only a
 * backstop against a bug or a hostile input turning a label into a per-call identifier.
 */
export class LabelBudget {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (!LABEL_VALUE.test(raw) || this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(raw);
    return raw;
  }
}
