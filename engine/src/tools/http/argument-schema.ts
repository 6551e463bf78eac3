import { z } from 'zod';
import type { HttpToolArgumentConfig, HttpToolConfig } from '@ai-agent/common';

function argument(config: HttpToolArgumentConfig): z.ZodType {
  let schema: z.ZodType;
  switch (config.type) {
    case 'string': {
      if (config.enum) {
        schema = z.enum(config.enum as [string, ...string[]]);
        break;
      }
      let s = z.string().max(config.maxLength);
      if (config.minLength !== undefined) s = s.min(config.minLength);
      if (config.pattern !== undefined) s = s.regex(new RegExp(config.pattern, 'u'), `must match ${config.pattern}`);
      schema = s;
      break;
    }
    case 'number':
    case 'integer': {
      let n = config.type === 'integer' ? z.number().int() : z.number();
      if (config.minimum !== undefined) n = n.min(config.minimum);
      if (config.maximum !== undefined) n = n.max(config.maximum);
      schema = n;
      break;
    }
    case 'boolean':
      schema = z.boolean();
      break;
  }
  return config.description ? schema.describe(config.description) : schema;
}

/**
 * The arguments of an HTTP tool as a zod schema: the Toolbox validates the model's arguments with it (before any
 * request is made) and offers its JSON Schema to the model, like every other tool's.
 */
export function argumentsSchema(parameters: HttpToolConfig['parameters']): z.ZodType<Record<string, unknown>> {
  const required = new Set(parameters.required);
  const shape: Record<string, z.ZodType> = {};
  for (const [name, config] of Object.entries(parameters.properties)) {
    const schema = argument(config);
    shape[name] = required.has(name) ? schema : schema.optional();
  }
  return z.object(shape).strict() as z.ZodType<Record<string, unknown>>;
}
