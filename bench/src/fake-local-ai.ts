// A stand-in for the local AI server, speaking its protocol (local-ai-server/PROTOCOL.md) at next to no cost, for
// the pipeline capacity bench: the engine's work is what is measured, not speech recognition or synthesis. It runs
// in a process of its own (forked by pipeline-capacity.ts, which reads its CPU time separately).
// - STT: `stt.ready` at once; a 20 ms energy check per audio frame gives `stt.speech_start`, and a final
//   FINAL_AFTER_QUIET_MS after the audio goes quiet (the real server's own endpointing); `stt.end` flushes the
//   utterance as a final at once and closes the stream.
// - chat: one short reply, then `chat.done`.
// - TTS: TONE_MS of tone per request in the asked rate and encoding, then `tts.sentence` and `tts.done`.
// IPC: sends {type:'listening', port} once listening; exits when the parent goes.
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { mulawDecode, mulawEncode } from '@ai-agent/common/audio';
import { PROTOCOL_VERSION, audioFrame, type ClientMessage, type ServerMessage } from '@ai-agent/local-ai-server/client';

const FINAL_AFTER_QUIET_MS = 500;
const TONE_MS = 400;
const REPLY = 'Sure, I can help with that.';
const TRANSCRIPT = 'i would like to know your opening hours';
/** Mean square of a frame above which it carries speech (about −40 dBFS). */
const LOUD_MEAN_SQUARE = 300 * 300;

interface Stt {
  kind: 'stt';
  bytesPerSample: 1 | 2;
  sampleRate: number;
  /** In an utterance: speech heard since the last final. */
  speaking: boolean;
  quietMs: number;
}

interface Tts {
  kind: 'tts';
  encoding: 'mulaw' | 'slin16le';
  sampleRate: number;
}

const tones = new Map<string, Buffer>();

/** TONE_MS of a 440 Hz tone at speech level, made once per format. */
function tone(encoding: Tts['encoding'], sampleRate: number): Buffer {
  const key = `${encoding}/${sampleRate}`;
  let audio = tones.get(key);
  if (!audio) {
    const pcm = Int16Array.from({ length: (sampleRate * TONE_MS) / 1000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)));
    audio = encoding === 'mulaw' ? Buffer.from(mulawEncode(pcm)) : Buffer.from(pcm.buffer);
    tones.set(key, audio);
  }
  return audio;
}

/** The frame's samples (after the stream id byte) as PCM16. */
function samplesOf(stt: Stt, frame: Buffer): Int16Array {
  const audio = frame.subarray(1);
  if (stt.bytesPerSample === 1) return mulawDecode(audio);
  const pcm = new Int16Array(audio.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = audio.readInt16LE(i * 2);
  return pcm;
}

function loud(pcm: Int16Array): boolean {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return pcm.length > 0 && sum / pcm.length > LOUD_MEAN_SQUARE;
}

function serve(ws: WebSocket): void {
  const streams = new Map<number, Stt | Tts>();
  const send = (msg: ServerMessage): void => ws.send(JSON.stringify(msg));
  const final = (id: number, stt: Stt): void => {
    stt.speaking = false;
    send({ type: 'stt.final', id, text: TRANSCRIPT, grammar: false });
  };
  const synthesize = (id: number, tts: Tts): void => {
    streams.delete(id);
    const audio = tone(tts.encoding, tts.sampleRate);
    ws.send(audioFrame(id, audio));
    send({ type: 'tts.sentence', id, text: REPLY, samples: audio.length / (tts.encoding === 'mulaw' ? 1 : 2) });
    send({ type: 'tts.done', id });
  };

  send({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: { stt: ['fake'], tts: ['fake'], voices: ['slt', 'rms', 'awb', 'kal16'], llm: 'fake' } });
  ws.on('message', (data: RawData, isBinary) => {
    const buf = data as Buffer;
    if (isBinary) {
      const stt = streams.get(buf[0]!);
      if (stt?.kind !== 'stt') return;
      const pcm = samplesOf(stt, buf);
      if (loud(pcm)) {
        if (!stt.speaking) send({ type: 'stt.speech_start', id: buf[0]! });
        stt.speaking = true;
        stt.quietMs = 0;
      } else if (stt.speaking) {
        stt.quietMs += (pcm.length / stt.sampleRate) * 1000;
        if (stt.quietMs >= FINAL_AFTER_QUIET_MS) final(buf[0]!, stt);
      }
      return;
    }
    const msg = JSON.parse(buf.toString('utf8')) as ClientMessage;
    switch (msg.type) {
      case 'ping':
        send({ type: 'pong' });
        return;
      case 'stt.start':
        streams.set(msg.id, { kind: 'stt', bytesPerSample: msg.encoding === 'mulaw' ? 1 : 2, sampleRate: msg.sampleRate, speaking: false, quietMs: 0 });
        send({ type: 'stt.ready', id: msg.id });
        return;
      case 'stt.end': {
        const stt = streams.get(msg.id);
        streams.delete(msg.id);
        if (stt?.kind === 'stt' && stt.speaking) final(msg.id, stt);
        send({ type: 'stt.closed', id: msg.id });
        return;
      }
      case 'tts.start': {
        const tts: Tts = { kind: 'tts', encoding: msg.encoding, sampleRate: msg.sampleRate };
        if (msg.end) synthesize(msg.id, tts);
        else streams.set(msg.id, tts);
        return;
      }
      case 'tts.end': {
        const tts = streams.get(msg.id);
        if (tts?.kind === 'tts') synthesize(msg.id, tts);
        return;
      }
      case 'tts.cancel':
        streams.delete(msg.id);
        send({ type: 'tts.done', id: msg.id });
        return;
      case 'chat':
        send({ type: 'chat.delta', id: msg.id, text: REPLY });
        send({ type: 'chat.done', id: msg.id, reason: 'stop' });
        return;
      default:
        // stt.grammar, tts.text, chat.cancel: nothing to do for a reply that is already complete.
        return;
    }
  });
}

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
server.on('connection', serve);
server.on('listening', () => process.send!({ type: 'listening', port: (server.address() as { port: number }).port }));
process.on('disconnect', () => process.exit(0));
