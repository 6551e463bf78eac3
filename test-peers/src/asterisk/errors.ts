/** An ARI error response: status plus Asterisk's `{"message": "..."}` body (res/ari/ari_model_validators, ast_ari_response_error). */
export class AriError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
