/** ARI JSON helpers: timestamps as Asterisk prints them ("%FT%T.%q%z", e.g. 2026-11-25T02:04:05.123+0000). */
export function ariTimestamp(d: Date = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

let uniqueCounter = 0;
const bootSeconds = Math.floor(Date.now() / 1000);

/** Channel unique ids look like Asterisk's "<boot epoch>.<counter>". */
export function nextUniqueId(): string {
  return `${bootSeconds}.${uniqueCounter++}`;
}

let nameCounter = 0;
/** The 8-hex-digit suffix Asterisk appends to channel names (e.g. PJSIP/alice-00000001). */
export function nextNameSuffix(): string {
  return (++nameCounter).toString(16).padStart(8, '0');
}

/** The `0x…` pointer-like suffix chan_rtp/chan_websocket channel names carry. */
export function pointerSuffix(): string {
  return `0x${(0x7f0000000000 + Math.floor(Math.random() * 0xffffffff)).toString(16)}`;
}
