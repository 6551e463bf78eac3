import { PublicHttpError, maskPhoneNumber, scrub, scrubber, type Logger } from '@ai-agent/common';
import { OUTCOME_FILTERS } from '@ai-agent/common/outcomes';
import type { FastifyInstance } from 'fastify';
import { CallStoreUnavailable } from '../../store/store-errors.ts';
import type { CallListQuery, CallStore } from '../../store/types.ts';
import type { ActiveCall, CallRegistry } from '../../telephony/registry.ts';
import type { AuthGuard } from '../auth-guard.ts';

export interface CallRouteDeps {
  registry: () => CallRegistry;
  store: CallStore;
  log: Logger;
}

const CALL_ID = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } as const;
const MAX_LIST = 200;

/** A live call as operators see it: the caller's number masked per policy, free text scrubbed. */
function activeView(call: ActiveCall) {
  const { info } = call;
  const number = info.callerNumber;
  return {
    id: info.id,
    channelId: info.channelId,
    context: info.context,
    transport: info.transport,
    codec: info.codec,
    callerNumber: number === undefined || scrubber.showPhoneNumbers ? number : maskPhoneNumber(number),
    callerName: info.callerName === undefined ? undefined : scrub(info.callerName),
    state: call.state,
    startedAt: call.startedAt,
    answeredAt: call.answeredAt,
  };
}

/**
 * `GET /calls` (live calls + recent records, newest first, paged with `before=<nextBefore>`), `GET /calls/:id` (live state
 * and the stored record with transcript), `POST /calls/:id/hangup`. Records are redacted when written.
 */
export function callRoutes(deps: CallRouteDeps) {
  return (app: FastifyInstance, guard: AuthGuard): void => {
    app.get<{ Querystring: CallListQuery }>(
      '/calls',
      {
        preHandler: guard.check,
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: { type: 'integer', minimum: 1, maximum: MAX_LIST, default: 50 },
              /** The last id of the previous page (its `nextBefore`). */
              before: CALL_ID,
              /** Filters on the recorded calls (CallListQuery): start time range, context, outcome, caller. */
              from: { type: 'string', format: 'date-time' },
              to: { type: 'string', format: 'date-time' },
              context: { type: 'string', minLength: 1, maxLength: 64 },
              outcome: { type: 'string', enum: OUTCOME_FILTERS },
              caller: { type: 'string', minLength: 1, maxLength: 64 },
            },
          },
        },
      },
      async (request) => {
        const { limit } = request.query;
        const active = deps.registry().list().map(activeView);
        let recent;
        try {
          recent = await deps.store.list(request.query);
        } catch (err) {
          // The live calls are known without the database: an outage hides the history, not the calls in progress.
          if (err instanceof CallStoreUnavailable) return { active, recent: [], historyUnavailable: true };
          throw err;
        }
        return { active, recent, ...(recent.length === limit ? { nextBefore: recent.at(-1)!.id } : {}) };
      },
    );

    app.get<{ Params: { id: string } }>(
      '/calls/:id',
      { preHandler: guard.check, schema: { params: { type: 'object', properties: { id: CALL_ID }, required: ['id'] } } },
      async (request, reply) => {
        const live = deps.registry().get(request.params.id);
        let record;
        try {
          record = await deps.store.get(request.params.id);
        } catch (err) {
          if (!(err instanceof CallStoreUnavailable)) throw err;
          if (!live) throw new PublicHttpError(503, 'call history is unavailable');
          return { active: activeView(live), record: null, historyUnavailable: true };
        }
        if (!live && !record) return reply.code(404).send({ error: 'no such call', requestId: request.id });
        return { active: live ? activeView(live) : null, record: record ?? null };
      },
    );

    app.post<{ Params: { id: string } }>(
      '/calls/:id/hangup',
      { preHandler: guard.check, schema: { params: { type: 'object', properties: { id: CALL_ID }, required: ['id'] } } },
      async (request, reply) => {
        const { id } = request.params;
        const registry = deps.registry();
        if (!registry.get(id)) return reply.code(404).send({ error: 'no such active call', requestId: request.id });
        deps.log.info({ callId: id, by: request.authMethod }, 'operator hangup');
        // Hanging up may first play a message: answer now, the call's record tells how it ended.
        void registry.hangup(id, 'operator').catch((err: unknown) => {
          deps.log.warn({ callId: id, reason: (err as Error).message }, 'operator hangup failed');
        });
        return reply.code(202).send({ hangingUp: true, id });
      },
    );
  };
}
