// Docker's multiplexed log stream, however the network splits it: the same redacted lines come out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerSecret } from '@ai-agent/common';
import { LogLineDecoder, detectLevel, type LogLine } from '../../src/server/docker/log-lines.ts';

const SECRET = 'sk-live-0123456789abcdefXYZ';

/** One frame as dockerd writes it: stream byte, three zero bytes, big-endian length, payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function decode(chunks: Buffer[], multiplexed = true): LogLine[] {
  const lines: LogLine[] = [];
  const decoder = new LogLineDecoder(multiplexed, true, (l) => lines.push(l));
  for (const c of chunks) decoder.push(c);
  decoder.end();
  return lines;
}

/** Cuts `bytes` at the given offsets. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

describe('log line decoder', () => {
  registerSecret(SECRET);
  // A secret split across two frames, a line split across frames, stderr between, a multi-byte character, CRLF.
  const stream = Buffer.concat([
    frame(1, '2026-01-02T03:04:05.123456789Z INFO started\n2026-01-02T03:04:05.2Z WARN key '),
    frame(2, '2026-01-02T03:04:06Z ERROR disk full ✗\r\n'),
    frame(1, `${SECRET.slice(0, 10)}`),
    frame(1, `${SECRET.slice(10)} used\n2026-01-02T03:04:07Z {"level":20,"msg":"debug line"}`),
  ]);
  const expected: LogLine[] = [
    { stream: 'stdout', at: '2026-01-02T03:04:05.123456789Z', level: 'info', text: 'INFO started' },
    { stream: 'stderr', at: '2026-01-02T03:04:06Z', level: 'error', text: 'ERROR disk full ✗' },
    { stream: 'stdout', at: '2026-01-02T03:04:05.2Z', level: 'warn', text: 'WARN key [REDACTED] used' },
    { stream: 'stdout', at: '2026-01-02T03:04:07Z', level: 'debug', text: '{"level":20,"msg":"debug line"}' },
  ];

  it('yields whole redacted lines per stream, whatever the chunking', () => {
    assert.deepEqual(decode([stream]), expected);
    // Every single cut (inside a header, a payload, a character), then many random multi-cut splits.
    for (let at = 0; at <= stream.length; at++) assert.deepEqual(decode(split(stream, [at])), expected, `cut at ${at}`);
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let run = 0; run < 500; run++) {
      const cuts = Array.from({ length: next() % 12 }, next);
      assert.deepEqual(decode(split(stream, cuts)), expected, `cuts ${cuts.join(',')}`);
    }
  });

  it('reads a TTY container\'s raw stream without frame headers', () => {
    assert.deepEqual(decode([Buffer.from('2026-01-02T03:04:05Z hello\n2026-01-02T03:04:06Z bye')], false), [
      { stream: 'stdout', at: '2026-01-02T03:04:05Z', level: undefined, text: 'hello' },
      { stream: 'stdout', at: '2026-01-02T03:04:06Z', level: undefined, text: 'bye' },
    ]);
  });

  it('cuts a runaway line instead of buffering it without end, masking before the cut', () => {
    // The secret straddles the cut, and the line arrives in small frames.
    const long = `${'x'.repeat(16 * 1024 - 5)}${SECRET}${'y'.repeat(3000)}\nnext\n`;
    const frames = split(Buffer.from(long), Array.from({ length: 200 }, (_, i) => i * 100)).map((c) => frame(1, c.toString()));
    const lines = decode(frames);
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.text.length <= 16 * 1024 + 8 && lines[0]!.text.endsWith('…[cut]'));
    assert.ok(!lines[0]!.text.includes(SECRET.slice(0, 5)), 'a part of the secret survived the cut');
    assert.equal(lines[1]!.text, 'next');
  });

  it('reads levels from pino JSON and from level words', () => {
    assert.equal(detectLevel('{"level":60,"msg":"x"}'), 'fatal');
    assert.equal(detectLevel('{"level":"warn","msg":"x"}'), 'warn');
    assert.equal(detectLevel('[WARNING] low disk'), 'warn');
    assert.equal(detectLevel('panic: runtime error'), 'fatal');
    assert.equal(detectLevel('just text'), undefined);
  });
});
