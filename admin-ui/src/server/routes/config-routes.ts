import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '@ai-agent/common';
import { EngineUnavailable } from '../engine/engine-client.ts';
import { readSections, sectionSchemas, sectionsProblem, withSections, type Sections } from '../files/config-sections.ts';
import { isSecretName, secretValueProblem } from '../files/env-file.ts';
import { auditRequest, type RouteContext } from './context.ts';

const CONFIG_BODY_LIMIT = 1024 * 1024;

interface ReloadAnswer {
  reloaded: boolean;
  changed?: string[];
  restartRequired?: string[];
  error?: string;
}

/**
 * The engine's configuration: read it with the engine's view of it, and save = validate with the engine's
 * schema → atomic write with a timestamped backup → signed POST /reload. An invalid config names the key and
 * changes nothing; should the engine refuse what we accepted (its environment differs), the previous file is
 * put back. Provider keys live in `.env` only and are write-only. The `mcp` section (commands the engine runs) is
 * the file's on disk only: a save that changes it is refused, naming the key.
 */
export function configRoutes(ctx: RouteContext) {
  /** Validate with the engine's schema → write with a backup → signed reload; 422 {key, reason} changes nothing. */
  const save = async (request: FastifyRequest, reply: FastifyReply, yaml: string): Promise<unknown> => {
    let changed: string[];
    try {
      changed = ctx.configFile.diff(ctx.configFile.validate(yaml));
      const locked = ctx.configFile.diskOnlyChange(yaml);
      if (locked) throw new ConfigError(locked, 'set in the config file on disk only: the admin UI never changes the commands the engine runs');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      auditRequest(ctx, request, 'config.rejected', { key: err.key });
      return reply.code(422).send({ error: 'invalid config', key: err.key, reason: err.reason });
    }
    const previous = ctx.configFile.read();
    const backup = ctx.configFile.write(yaml);
    const reload = await reloadEngine(ctx);
    if (reload.invalid) {
      ctx.configFile.write(previous);
      auditRequest(ctx, request, 'config.rejected', { key: reload.invalid.key, by: 'engine' });
      return reply.code(422).send({ error: 'invalid config', ...reload.invalid });
    }
    auditRequest(ctx, request, 'config.change', { keys: changed, reloaded: reload.answer.reloaded });
    return { changed, backup: backup === undefined ? null : backup.slice(backup.lastIndexOf('/') + 1), reload: reload.answer };
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/api/config', { onRequest: ctx.requireScope('config:read') }, async () => {
      let state: unknown = null;
      try {
        const reply = await ctx.engine.request('GET', '/config/state');
        if (reply.status === 200) state = reply.body;
      } catch (err) {
        if (!(err instanceof EngineUnavailable)) throw err;
      }
      return { yaml: ctx.configFile.read(), state };
    });

    app.put<{ Body: { yaml: string } }>(
      '/api/config',
      {
        onRequest: ctx.requireScope('config:write'),
        bodyLimit: CONFIG_BODY_LIMIT,
        schema: { body: { type: 'object', required: ['yaml'], additionalProperties: false, properties: { yaml: { type: 'string', maxLength: CONFIG_BODY_LIMIT } } } },
      },
      async (request, reply) => save(request, reply, request.body.yaml),
    );

    // The same file as forms: contexts and providers (config-sections.ts), saved through the same path.
    app.get('/api/config/forms', { onRequest: ctx.requireScope('config:read') }, async (_request, reply) => {
      try {
        return { schemas: sectionSchemas(), ...readSections(ctx.configFile.read()) };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return reply.code(422).send({ error: 'config not shown as forms', key: err.key, reason: err.reason });
      }
    });

    app.put<{ Body: Partial<Sections> }>(
      '/api/config/forms',
      { onRequest: ctx.requireScope('config:write'), bodyLimit: CONFIG_BODY_LIMIT },
      async (request, reply) => {
        let yaml: string;
        try {
          const problem = sectionsProblem(request.body);
          if (problem) throw problem;
          yaml = withSections(ctx.configFile.read(), request.body);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          auditRequest(ctx, request, 'config.rejected', { key: err.key });
          return reply.code(422).send({ error: 'invalid config', key: err.key, reason: err.reason });
        }
        return save(request, reply, yaml);
      },
    );

    app.get('/api/secrets', { onRequest: ctx.requireScope('config:read') }, async () => ({ names: ctx.envFile.status() }));

    app.put<{ Params: { name: string }; Body: { value: string } }>(
      '/api/secrets/:name',
      {
        onRequest: ctx.requireScope('config:write'),
        schema: { body: { type: 'object', required: ['value'], additionalProperties: false, properties: { value: { type: 'string' } } } },
      },
      async (request, reply) => {
        const { name } = request.params;
        if (!isSecretName(name)) return reply.code(404).send({ error: 'not found' });
        const problem = secretValueProblem(request.body.value);
        if (problem) return reply.code(400).send({ error: 'invalid value', reason: `value: ${problem}` });
        ctx.envFile.set(name, request.body.value);
        auditRequest(ctx, request, 'secret.set', { name });
        return reply.code(204).send();
      },
    );
  };
}

type ReloadResult = { invalid?: undefined; answer: ReloadAnswer } | { invalid: { key: string; reason: string } };

async function reloadEngine(ctx: RouteContext): Promise<ReloadResult> {
  try {
    const reply = await ctx.engine.request('POST', '/reload');
    const body = reply.body as { key?: string; reason?: string; changed?: string[]; restartRequired?: string[] };
    if (reply.status === 200) return { answer: { reloaded: true, changed: body.changed, restartRequired: body.restartRequired } };
    if (reply.status === 400 && typeof body.key === 'string') return { invalid: { key: body.key, reason: String(body.reason ?? '') } };
    return { answer: { reloaded: false, error: `engine answered ${reply.status}` } };
  } catch (err) {
    if (err instanceof EngineUnavailable) return { answer: { reloaded: false, error: 'engine unavailable' } };
    throw err;
  }
}
