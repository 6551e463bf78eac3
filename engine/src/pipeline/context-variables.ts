/** A call's pre-call lookup: the values of its context's {{variables}}; defaults on failure, never rejects. */
export type VariablesLookup = (signal: AbortSignal) => Promise<Readonly<Record<string, string>>>;

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * A context's prompt with the call's variables filled in: `{{name}}` becomes its value (from the pre-call
 * lookup or its default); a name without a value stays as written, so a typo shows instead of vanishing.
 */
export function fillVariables(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(VARIABLE, (match, name: string) => (Object.hasOwn(values, name) ? values[name]! : match));
}

/** Whether a text still holds a {{variable}}: one with no value yet. */
export function hasVariables(text: string): boolean {
  return new RegExp(VARIABLE.source).test(text);
}
