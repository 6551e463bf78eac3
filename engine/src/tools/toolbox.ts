import { z } from 'zod';
import type { ContextConfig } from '@ai-agent/common';
import type { ToolCall, ToolSchema } from '../providers/types.ts';
import type { CallActions } from '../call/index.ts';
import { hangupTool } from './hangup.ts';
import { sendDtmfTool } from './send-dtmf.ts';
import { transferTool } from './transfer.ts';
import type { Tool, ToolContext, ToolResult } from './types.ts';

export type ToolName = ContextConfig['tools'][number];

/** Tools that need a telephony action the call may not have (a dialplan AudioSocket call has no ARI). */
const NEEDS: Partial<Record<ToolName, keyof CallActions>> = { transfer: 'transfer', send_dtmf: 'sendDtmf' };

function toolFor(name: ToolName, context: ContextConfig): Tool<any> {
  switch (name) {
    case 'hangup':
      return hangupTool;
    case 'transfer':
      return transferTool(context);
    case 'send_dtmf':
      return sendDtmfTool;
  }
}

/**
 * The tools a context offers the model on one call: those the call can carry out (a model is never offered
 * a transfer it could only announce), their JSON schemas for the request, and a runner that validates the
 * model's arguments. Anything wrong (unknown tool, bad JSON, bad arguments, a failing action) comes back as
 * an error text for the model, never as an exception out of the call.
 */
export class Toolbox {
  readonly schemas: readonly ToolSchema[];
  private readonly tools = new Map<string, Tool<any>>();

  /** `extra`: tools built elsewhere for this call (the context's HTTP and MCP tools). */
  constructor(context: ContextConfig, actions: CallActions, extra: readonly Tool<any>[] = []) {
    for (const name of context.tools) {
      const needs = NEEDS[name];
      if (!needs || actions[needs]) this.tools.set(name, toolFor(name, context));
    }
    for (const tool of extra) this.tools.set(tool.name, tool);
    this.schemas = [...this.tools.values()].map((t) => {
      const { $schema: _ignored, ...parameters } = t.jsonSchema ?? (z.toJSONSchema(t.parameters) as Record<string, unknown>);
      return { name: t.name, description: t.description, parameters };
    });
  }

  /** The named tool ends or moves the call (see Tool.endsCall). */
  endsCall(name: string): boolean {
    return this.tools.get(name)?.endsCall === true;
  }

  async run(call: ToolCall, ctx: ToolContext): Promise<ToolResult> {
    const tool = this.tools.get(call.name);
    if (!tool) return { content: `error: unknown tool "${call.name}". Available: ${[...this.tools.keys()].join(', ') || 'none'}` };
    let raw: unknown;
    try {
      raw = call.arguments.trim() ? JSON.parse(call.arguments) : {};
    } catch {
      return { content: `error: the arguments of ${call.name} are not valid JSON` };
    }
    const parsed = tool.parameters.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'arguments';
      return { content: `error: invalid arguments for ${call.name}: ${where}: ${issue?.message ?? 'invalid'}` };
    }
    try {
      return await tool.run(parsed.data, ctx);
    } catch (err) {
      return { content: `error: ${call.name} failed: ${(err as Error).message}` };
    }
  }
}
