// ARI requests made while a call is torn down must not hold the teardown: if Asterisk's HTTP side went away
// (a restart as the caller hung up) ari-client's request may never settle, and the call would stay `ending`
// with its record open for ever. Past the limit the request is left to fail on its own and teardown goes on.

/** Longest wait for one teardown request (hang up a channel, destroy a bridge). */
export const ARI_TEARDOWN_LIMIT_MS = 5000;

/** Settles when `request` does (its failure ignored) or after `limitMs`, whichever is first. */
export async function settledWithin(request: Promise<unknown>, limitMs = ARI_TEARDOWN_LIMIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs);
    timer.unref();
  });
  try {
    await Promise.race([request.then(() => undefined, () => undefined), limit]);
  } finally {
    clearTimeout(timer);
  }
}
