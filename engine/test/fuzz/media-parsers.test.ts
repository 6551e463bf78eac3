// Property-based fuzzing (fast-check, seeded) of every parser that reads what Asterisk — or whoever reaches a
// media port — sends: RTP packets, AudioSocket frames, chan_websocket control messages. Each target is checked
// two ways: arbitrary bytes never throw and never yield out-of-bounds results, and well-formed input built by
// an independent encoder here is read back exactly, however TCP splits it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzzSettings } from '@ai-agent/common/testing';
import { emptyRtpHeader, parseRtp, RTP_HEADER_BYTES } from '../../src/transport/rtp/rtp-packet.ts';
import { FrameParser, MAX_PAYLOAD_BYTES } from '../../src/transport/audiosocket/audiosocket-frame.ts';
import { parseControlEvent } from '../../src/transport/websocket/control-messages.ts';
import { mediaStartInfo } from '../../src/transport/websocket/ws-media-stream.ts';

test('fuzz rtp: arbitrary datagrams never throw, and an accepted one always lies inside its buffer', () => {
  const header = emptyRtpHeader();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), (datagram) => {
      const reason = parseRtp(datagram, header);
      if (reason !== null) return;
      assert.ok(header.payloadOffset >= RTP_HEADER_BYTES, 'payload after the fixed header');
      assert.ok(header.payloadLength >= 0 && header.payloadOffset + header.payloadLength <= datagram.length, 'payload inside the datagram');
    }),
    fuzzSettings('rtp-arbitrary'),
  );
});

/** An RTP packet as RFC 3550 lays it out, built field by field (independently of the parser). */
const rtpPacket = fc.record({
  marker: fc.boolean(),
  // 72–76 with the marker set reads as RTCP 200–204 (RFC 5761 multiplexing): those are not media.
  payloadType: fc.integer({ min: 0, max: 127 }).filter((pt) => pt < 72 || pt > 76),
  sequence: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffff_ffff }),
  ssrc: fc.integer({ min: 0, max: 0xffff_ffff }),
  csrcs: fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 15 }),
  extension: fc.option(fc.uint8Array({ maxLength: 64 }).map((b) => b.subarray(0, b.length - (b.length % 4)))),
  payload: fc.uint8Array({ maxLength: 640 }),
  padding: fc.integer({ min: 0, max: 255 }),
});

type RtpFields = typeof rtpPacket extends fc.Arbitrary<infer T> ? T : never;

function encodeRtp(p: RtpFields): Buffer {
  const ext = p.extension;
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(12);
  fixed[0] = 0x80 | (p.padding > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | p.csrcs.length;
  fixed[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  fixed.writeUInt16BE(p.sequence, 2);
  fixed.writeUInt32BE(p.timestamp, 4);
  fixed.writeUInt32BE(p.ssrc, 8);
  parts.push(fixed);
  for (const csrc of p.csrcs) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(csrc);
    parts.push(b);
  }
  if (ext) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(0xbede, 0);
    h.writeUInt16BE(ext.length / 4, 2);
    parts.push(h, Buffer.from(ext));
  }
  parts.push(Buffer.from(p.payload));
  if (p.padding > 0) {
    const pad = Buffer.alloc(p.padding);
    pad[p.padding - 1] = p.padding;
    parts.push(pad);
  }
  return Buffer.concat(parts);
}

test('fuzz rtp: every well-formed packet (CSRCs, extension, padding) is read back field for field', () => {
  const header = emptyRtpHeader();
  fc.assert(
    fc.property(rtpPacket, (p) => {
      const datagram = encodeRtp(p);
      assert.equal(parseRtp(datagram, header), null);
      assert.equal(header.marker, p.marker);
      assert.equal(header.payloadType, p.payloadType);
      assert.equal(header.sequence, p.sequence);
      assert.equal(header.timestamp, p.timestamp);
      assert.equal(header.ssrc, p.ssrc);
      assert.deepEqual(datagram.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength), Buffer.from(p.payload));
    }),
    fuzzSettings('rtp-well-formed'),
  );
});

const KNOWN_KINDS = [0x00, 0x01, 0x03, 0xff, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];
const audioSocketFrame = fc.record({
  kind: fc.constantFrom(...KNOWN_KINDS),
  payload: fc.uint8Array({ maxLength: 1024 }),
});

/** Splits `bytes` at the given fractions: TCP may deliver any slicing of the stream. */
function slices(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of at) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  out.push(bytes.subarray(from));
  return out;
}

test('fuzz audiosocket: a stream of valid frames is read back exactly however TCP splits it', () => {
  fc.assert(
    fc.property(fc.array(audioSocketFrame, { maxLength: 20 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }), (frames, cuts) => {
      const wire = Buffer.concat(frames.map((f) => Buffer.concat([Buffer.from([f.kind, f.payload.length >> 8, f.payload.length & 0xff]), Buffer.from(f.payload)])));
      const got: Array<{ kind: number; payload: Buffer }> = [];
      const parser = new FrameParser({
        frame: (kind, payload) => void got.push({ kind, payload: Buffer.from(payload) }),
        invalid: (reason) => assert.fail(`a valid stream was refused: ${reason}`),
      });
      for (const chunk of slices(wire, cuts)) parser.push(chunk);
      assert.deepEqual(got, frames.map((f) => ({ kind: f.kind, payload: Buffer.from(f.payload) })));
    }),
    fuzzSettings('audiosocket-split'),
  );
});

test('fuzz audiosocket: arbitrary bytes never throw; a refusal is final and names a frame the parser could not take', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), (chunks) => {
      let refusals = 0;
      let framesAfterRefusal = 0;
      const parser = new FrameParser({
        frame: (_kind, payload) => {
          if (refusals > 0) framesAfterRefusal++;
          assert.ok(payload.length <= MAX_PAYLOAD_BYTES);
        },
        invalid: (reason, kind, length) => {
          refusals++;
          assert.ok(reason === 'oversize_frame' ? length > MAX_PAYLOAD_BYTES : !KNOWN_KINDS.includes(kind), `${reason} for kind ${kind} length ${length}`);
        },
      });
      for (const chunk of chunks) parser.push(Buffer.from(chunk));
      assert.ok(refusals <= 1, 'one refusal ends the stream');
      assert.equal(framesAfterRefusal, 0);
    }),
    fuzzSettings('audiosocket-arbitrary'),
  );
});

test('fuzz chan_websocket: arbitrary text and JSON never throw the control-message parser', () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.json({ maxDepth: 3 }),
    fc.tuple(fc.constantFrom('MEDIA_START', 'MEDIA_XOFF', 'MEDIA_MARK_PROCESSED', 'ERROR', 'X'), fc.string({ maxLength: 200 })).map(([e, rest]) => `${e} ${rest}`),
  );
  fc.assert(
    fc.property(text, (message) => {
      const event = parseControlEvent(message);
      if (!event) return;
      assert.match(event.event, /^[A-Z_]{2,40}$/);
      for (const value of Object.values(event.fields)) assert.equal(typeof value, 'string');
      mediaStartInfo(event, message.trimStart().startsWith('{'));
    }),
    fuzzSettings('ws-control-arbitrary'),
  );
});

test('fuzz chan_websocket: MEDIA_START in either format gives back the channel, id and format it carried', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9_.\/-]{1,40}$/);
  fc.assert(
    fc.property(token, token, token, fc.constantFrom('ulaw', 'alaw', 'slin16'), fc.boolean(), (connectionId, channel, channelId, format, json) => {
      const message = json
        ? JSON.stringify({ event: 'MEDIA_START', connection_id: connectionId, channel, channel_id: channelId, format, optimal_frame_size: 160, ptime: 20 })
        : `MEDIA_START connection_id:${connectionId} channel:${channel} channel_id:${channelId} format:${format} optimal_frame_size:160 ptime:20`;
      const event = parseControlEvent(message);
      assert.ok(event);
      const info = mediaStartInfo(event, json);
      assert.ok(info);
      assert.deepEqual(
        { connectionId: info.connectionId, channel: info.channel, channelId: info.channelId, format: info.format, controlFormat: info.controlFormat },
        { connectionId, channel, channelId, format, controlFormat: json ? 'json' : 'plain-text' },
      );
    }),
    fuzzSettings('ws-media-start'),
  );
});
