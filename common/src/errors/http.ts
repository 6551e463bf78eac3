/** An error whose message is safe to show to an HTTP client. Anything else is answered generically. */
export class PublicHttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly details?: Record<string, string>) {
    super(message);
    this.name = 'PublicHttpError';
  }
}

export const GENERIC_ERROR_TEXT: Readonly<Record<number, string>> = {
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  409: 'conflict',
  413: 'payload too large',
  415: 'unsupported media type',
  429: 'too many requests',
  500: 'internal error',
  503: 'unavailable',
};

export function genericErrorText(status: number): string {
  return GENERIC_ERROR_TEXT[status] ?? (status >= 500 ? 'internal error' : 'request failed');
}
