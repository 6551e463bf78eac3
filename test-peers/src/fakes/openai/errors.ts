// OpenAI's HTTP error answers: `{"error":{"message","type","param","code"}}` plus request id and,
// for rate limits, retry-after headers the SDK obeys.
import type { PlainAnswer } from '../fake-server.ts';
import { fakeId, type StatusFault } from '../script.ts';

export function openAiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
  headers: Record<string, string> = {},
): PlainAnswer {
  return {
    status,
    headers: { 'x-request-id': fakeId('req'), ...headers },
    body: { error: { message, type, param, code } },
  };
}

export function unauthorizedAnswer(hadKey: boolean): PlainAnswer {
  // The real message echoes part of the key; the fake does not, so keys never reach test output.
  return hadKey
    ? openAiError(401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key')
    : openAiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'invalid_request_error', null);
}

export function badRequest(message: string, param: string | null = null): PlainAnswer {
  return openAiError(400, message, 'invalid_request_error', null, param);
}

/** The answer for a scripted status fault, with the vendor's wording per status. */
export function statusFaultAnswer(fault: StatusFault): PlainAnswer {
  const retry: Record<string, string> =
    fault.retryAfterMs === undefined
      ? {}
      : { 'retry-after': String(Math.max(1, Math.ceil(fault.retryAfterMs / 1000))), 'retry-after-ms': String(fault.retryAfterMs) };
  switch (fault.status) {
    case 401: {
      const answer = unauthorizedAnswer(true);
      return { ...answer, headers: { ...answer.headers, ...retry } };
    }
    case 429:
      return openAiError(429, fault.message ?? 'Rate limit reached for requests. Please try again later.', 'requests', 'rate_limit_exceeded', null, retry);
    default:
      if (fault.status >= 500) {
        return openAiError(fault.status, fault.message ?? 'The server had an error while processing your request. Sorry about that!', 'server_error', null, null, retry);
      }
      return openAiError(fault.status, fault.message ?? 'Request failed.', 'invalid_request_error', null, null, retry);
  }
}
