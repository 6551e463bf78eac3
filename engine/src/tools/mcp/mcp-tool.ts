import { z } from 'zod';
import { MCP_TOOL_SEPARATOR, type Logger, type Scrubber } from '@ai-agent/common';
import type { Tool, ToolResult } from '../types.ts';
import type { McpConnection, McpToolInfo } from './mcp-connection.ts';

/** What the model may name a function (OpenAI's rule; other vendors' are looser). */
const MODEL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The name the model sees for `tool` of server `id`, or null when it cannot be one. */
export function exposedName(id: string, tool: string): string | null {
  const name = `${id}${MCP_TOOL_SEPARATOR}${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return MODEL_NAME.test(name) ? name : null;
}

/** The model's arguments must be an object; the server checks them against its schema and says what is wrong. */
const argumentsObject = z.record(z.string(), z.unknown());

export interface McpToolDeps {
  connection: McpConnection;
  /** Masks the server's secrets (env, headers) in what the model reads. */
  scrubber: Scrubber;
  log: Logger;
}

/**
 * One MCP server tool as a model function. A slow answer gets a spoken filler after the server's
 * `filler_after_ms`; the request is not cancelled by a barge-in (only by the call's end or the server's
 * timeout), so an answer the caller talked over still reaches the model with the caller's next turn.
 */
export function mcpTool(info: McpToolInfo, name: string, deps: McpToolDeps): Tool<Record<string, unknown>> {
  const { connection } = deps;
  const config = connection.config;
  const forModel = (text: string): string => {
    const scrubbed = deps.scrubber.scrub(text);
    return scrubbed.length > config.max_result_chars ? `${scrubbed.slice(0, config.max_result_chars)} …(cut)` : scrubbed;
  };
  return {
    name,
    description: info.description.slice(0, 1000),
    parameters: argumentsObject,
    jsonSchema: { type: 'object', ...info.inputSchema },
    async run(args, ctx): Promise<ToolResult> {
      const log = deps.log.child({ callId: ctx.call.id, tool: name, mcpServer: connection.id });
      const started = performance.now();
      const filler =
        config.filler_after_ms > 0 && ctx.holdOn
          ? setTimeout(() => {
              if (!ctx.signal.aborted) ctx.holdOn?.(config.filler);
            }, config.filler_after_ms)
          : undefined;
      try {
        const { text, isError } = await connection.call(info.name, args, ctx.callSignal);
        const ms = Math.round(performance.now() - started);
        log.info({ ms, isError, chars: text.length, afterBargeIn: ctx.signal.aborted }, 'mcp tool answered');
        return { content: forModel(isError ? `error: ${text || `${name} failed`}` : text || '(empty answer)') };
      } catch (err) {
        const reason = (err as Error).message;
        log.warn({ reason, ms: Math.round(performance.now() - started) }, 'mcp tool failed');
        return { content: forModel(`error: ${name} failed: ${reason}`) };
      } finally {
        clearTimeout(filler);
      }
    },
  };
}
