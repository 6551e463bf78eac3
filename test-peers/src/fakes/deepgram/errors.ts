// Deepgram's REST/handshake error answers: `{"err_code","err_msg","request_id"}`, with the request id
// in `dg-request-id` and, on refused WebSocket upgrades, the message in `dg-error`.
import { randomUUID } from 'node:crypto';
import type { PlainAnswer } from '../fake-server.ts';
import type { StatusFault } from '../script.ts';

export function deepgramError(status: number, errCode: string, errMsg: string, headers: Record<string, string> = {}): PlainAnswer {
  const requestId = randomUUID();
  return {
    status,
    headers: { 'dg-request-id': requestId, 'dg-error': errMsg, ...headers },
    body: { err_code: errCode, err_msg: errMsg, request_id: requestId },
  };
}

export function unauthorizedAnswer(): PlainAnswer {
  return deepgramError(401, 'INVALID_AUTH', 'Invalid credentials.');
}

export function badRequest(message: string): PlainAnswer {
  return deepgramError(400, 'Bad Request', message);
}

export function statusFaultAnswer(fault: StatusFault): PlainAnswer {
  const retry: Record<string, string> =
    fault.retryAfterMs === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(fault.retryAfterMs / 1000))) };
  if (fault.status === 401) return unauthorizedAnswer();
  if (fault.status === 429) return deepgramError(429, 'TOO_MANY_REQUESTS', fault.message ?? 'Too many requests. Please try again later.', retry);
  if (fault.status >= 500) return deepgramError(fault.status, 'INTERNAL_SERVER_ERROR', fault.message ?? 'An internal server error occurred.', retry);
  return deepgramError(fault.status, 'Bad Request', fault.message ?? 'Request failed.', retry);
}
