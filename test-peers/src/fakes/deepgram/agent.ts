// One Deepgram Voice Agent session (/v1/agent/converse): Welcome, Settings → SettingsApplied, greeting,
// user turns clocked by the audio received (or found in it by an energy VAD), scripted replies with client-side
// function calls, spoken audio as binary frames, barge-in, InjectAgentMessage / InjectUserMessage, KeepAlive, Error.
// Size: one vendor session's documented message protocol; splitting it would scatter one state machine.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { agent } from '@deepgram/sdk';
import { bytesPerSample, chunkAudio, decodeToPcm16, encodePcm16, EnergyVad, renderPcm16, type AudioSource, type Encoding } from '../audio.ts';
import { AudioTimeline } from '../audio-timeline.ts';
import { dropConnection } from '../fake-server.ts';
import { fakeId, pause, stallUntil, type Pace, type ScriptQueue, type StatusFault, type StreamFault } from '../script.ts';

export interface AgentUtterance {
  /** Audio position (ms of user audio since Settings) where the caller starts speaking. */
  atMs: number;
  text: string;
  /** Default: 250 ms per word, at least 300 ms. */
  durationMs?: number;
}

/** Mid-session failures at a user-audio position; `error` sends an Error message (the session stays open). */
export type AgentSessionFault =
  | { kind: 'drop' | 'stall'; atMs: number }
  | { kind: 'close'; atMs: number; code: number; reason: string }
  | { kind: 'error'; atMs: number; code: string; description: string };

/**
 * Turns found in the audio itself, as the agent's own listening does: speech onset → UserStartedSpeaking,
 * `silenceMs` of silence after it → the user turn, heard as the next of `heard` (the last one repeats).
 */
export interface AgentListen {
  heard: string[];
  silenceMs: number;
  /** RMS (fraction of full scale) above which a 20 ms window counts as speech (default 0.02). */
  rmsThreshold?: number;
}

export interface AgentScript {
  reject?: StatusFault;
  utterances?: AgentUtterance[];
  listen?: AgentListen;
  fault?: AgentSessionFault;
}

export interface AgentFunctionCall {
  id?: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

export interface AgentReply {
  /** What the agent says (after any function calls are answered). */
  text: string;
  /** Client-side function calls sent as one FunctionCallRequest; the reply waits for every response. */
  functionCalls?: AgentFunctionCall[];
  /** Sent as AgentThinking before the answer. */
  thinking?: string;
  audio?: AudioSource;
  /** Audio per binary frame (default 100 ms). */
  chunkMs?: number;
  pace?: Pace;
  /** `afterChunks` counts binary audio frames. */
  fault?: StreamFault;
}

export interface AgentReplyRequest {
  userText: string;
  settings: agent.AgentV1Settings;
  history: Array<{ role: 'user' | 'assistant'; content: string }>;
}

type ServerMessage =
  | agent.AgentV1Welcome | agent.AgentV1SettingsApplied | agent.AgentV1ConversationText | agent.AgentV1UserStartedSpeaking
  | agent.AgentV1AgentThinking | agent.AgentV1AgentStartedSpeaking | agent.AgentV1AgentAudioDone | agent.AgentV1FunctionCallRequest
  | agent.AgentV1InjectionRefused | agent.AgentV1Error | agent.AgentV1Warning | agent.AgentV1PromptUpdated
  | agent.AgentV1SpeakUpdated | agent.AgentV1ThinkUpdated;

/** What a test sees of a live agent connection. */
export interface AgentSessionHandle {
  /** JSON messages from the client in arrival order. */
  readonly received: Array<{ type: string } & Record<string, unknown>>;
  readonly sent: ServerMessage[];
  /** Date.now() when each of `sent` went out. */
  readonly sentAt: number[];
  settings: agent.AgentV1Settings | undefined;
  /** User audio bytes received after Settings (audio before Settings is counted separately and ignored). */
  audioBytes: number;
  /** That user audio as received, one entry per binary message. */
  readonly audio: Buffer[];
  audioBytesBeforeSettings: number;
  /** Date.now() when the first Settings was applied. */
  settingsAppliedAt: number | undefined;
  /** Agent audio bytes sent, and those bytes, one entry per binary message. */
  audioBytesSent: number;
  readonly agentAudio: Buffer[];
  /** Date.now() when each of `agentAudio` went out. */
  readonly agentAudioAt: number[];
  closed: boolean;
  send(message: ServerMessage): void;
  drop(): void;
  close(code: number, reason: string): void;
}

function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

export class AgentSession {
  readonly handle: AgentSessionHandle;
  readonly #ws: WebSocket;
  readonly #replies: ScriptQueue<AgentReply, AgentReplyRequest>;
  readonly #script: AgentScript;
  readonly #timeline = new AudioTimeline();
  readonly #idle: NodeJS.Timeout;
  readonly #history: AgentReplyRequest['history'] = [];
  readonly #pendingCalls = new Map<string, () => void>();
  readonly #closed = new AbortController();
  #input: { encoding: Encoding; rate: number } = { encoding: 'linear16', rate: 24000 };
  #output: { encoding: Encoding; rate: number } = { encoding: 'linear16', rate: 24000 };
  /** Aborts the agent's current speech (barge-in, interrupt). */
  #speaking: AbortController | undefined;
  #speechDone: Promise<void> = Promise.resolve();
  #stalled = false;
  /** The energy VAD of `script.listen` (built at Settings, for the input format) and the speech in progress. */
  #vad: EnergyVad | undefined;
  #speech: { silenceMs: number } | undefined;
  #heardTurns = 0;

  constructor(ws: WebSocket, script: AgentScript, replies: ScriptQueue<AgentReply, AgentReplyRequest>, idleTimeoutMs: number) {
    this.#ws = ws;
    this.#script = script;
    this.#replies = replies;
    this.handle = {
      received: [],
      sent: [],
      sentAt: [],
      settings: undefined,
      audioBytes: 0,
      audio: [],
      audioBytesBeforeSettings: 0,
      settingsAppliedAt: undefined,
      audioBytesSent: 0,
      agentAudio: [],
      agentAudioAt: [],
      closed: false,
      send: (m) => this.#send(m),
      drop: () => dropConnection(ws),
      close: (code, reason) => this.#close(code, reason),
    };
    this.#idle = setTimeout(() => {
      this.#send({ type: 'Error', code: 'CLIENT_MESSAGE_TIMEOUT', description: 'We did not receive a message from the client within the timeout window.' });
      this.#close(1000, '');
    }, idleTimeoutMs);
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', () => {
      clearTimeout(this.#idle);
      this.handle.closed = true;
      this.#closed.abort();
      this.#speaking?.abort();
    });
    ws.on('error', () => undefined);
    this.#send({ type: 'Welcome', request_id: randomUUID() });
  }

  #send(message: ServerMessage): void {
    if (this.#stalled || this.#ws.readyState !== this.#ws.OPEN) return;
    this.handle.sent.push(message);
    this.handle.sentAt.push(Date.now());
    this.#ws.send(JSON.stringify(message));
  }

  #close(code: number, reason: string): void {
    clearTimeout(this.#idle);
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
  }

  #unparsable(description: string): void {
    this.#send({ type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE', description });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#idle.refresh();
    if (isBinary) {
      if (!this.handle.settings) {
        this.handle.audioBytesBeforeSettings += data.length;
        return;
      }
      this.handle.audioBytes += data.length;
      this.handle.audio.push(Buffer.from(data));
      this.#timeline.advance(this.#timeline.nowMs + data.length / ((this.#input.rate * bytesPerSample(this.#input.encoding)) / 1000));
      if (this.#vad) this.#vad.feed(decodeToPcm16(data, this.#input.encoding), (_endMs, isSpeech) => this.#listenWindow(isSpeech));
      return;
    }
    let message: { type?: unknown } & Record<string, unknown>;
    try {
      message = JSON.parse(data.toString('utf8')) as typeof message;
      if (!message || typeof message !== 'object') throw new Error('not an object');
    } catch {
      this.handle.received.push({ type: '<invalid json>' });
      return this.#unparsable('The message could not be parsed as JSON.');
    }
    this.handle.received.push({ ...message, type: String(message.type) });
    switch (message.type) {
      case 'Settings':
        return this.#applySettings(message as unknown as agent.AgentV1Settings);
      case 'KeepAlive':
        return;
      case 'FunctionCallResponse':
        this.#pendingCalls.get(String(message.id))?.();
        return;
      case 'InjectAgentMessage':
        return this.#injectAgentMessage(message as unknown as agent.AgentV1InjectAgentMessage);
      case 'InjectUserMessage':
        if (typeof message.content !== 'string') return this.#unparsable('InjectUserMessage requires "content".');
        return this.#startUserTurn(message.content);
      case 'UpdatePrompt':
        return this.#send({ type: 'PromptUpdated' });
      case 'UpdateSpeak':
        return this.#send({ type: 'SpeakUpdated' });
      case 'UpdateThink':
        return this.#send({ type: 'ThinkUpdated' });
      default:
        return this.#unparsable(`Unknown message type: ${String(message.type)}`);
    }
  }

  #applySettings(settings: agent.AgentV1Settings): void {
    if (!settings.audio || typeof settings.audio !== 'object' || !settings.agent || typeof settings.agent !== 'object') {
      return this.#unparsable('Settings requires "audio" and "agent" objects.');
    }
    const known = new Set<string>(['linear16', 'mulaw', 'alaw']);
    const input = settings.audio.input;
    const output = settings.audio.output;
    if ((input && !known.has(input.encoding)) || (output?.encoding && !known.has(output.encoding))) {
      return this.#unparsable('This fake supports linear16, mulaw and alaw audio only.');
    }
    if (input && !(Number.isInteger(input.sample_rate) && input.sample_rate > 0)) return this.#unparsable('audio.input.sample_rate must be a positive integer.');
    if (input) this.#input = { encoding: input.encoding as Encoding, rate: input.sample_rate };
    this.#output = {
      encoding: (output?.encoding as Encoding | undefined) ?? 'linear16',
      rate: output?.sample_rate ?? (output?.encoding === 'mulaw' || output?.encoding === 'alaw' ? 8000 : 24000),
    };
    const first = !this.handle.settings;
    this.handle.settings = settings;
    this.handle.settingsAppliedAt ??= Date.now();
    this.#send({ type: 'SettingsApplied' });
    if (!first) return;
    (this.#script.utterances ?? []).forEach((u) => this.#scheduleUtterance(u));
    if (this.#script.listen) this.#vad = new EnergyVad(this.#input.rate, this.#script.listen.rmsThreshold);
    if (this.#script.fault) this.#scheduleFault(this.#script.fault);
    if (settings.agent.greeting) void this.#say(settings.agent.greeting, {});
  }

  #scheduleUtterance(u: AgentUtterance): void {
    const duration = u.durationMs ?? Math.max(300, wordsOf(u.text).length * 250);
    this.#timeline.at(u.atMs, 0, () => {
      this.#send({ type: 'UserStartedSpeaking' });
      // Barge-in: the caller talking over the agent stops its audio at once.
      this.#speaking?.abort();
    });
    this.#timeline.at(u.atMs + duration, 0, () => this.#startUserTurn(u.text));
  }

  #listenWindow(isSpeech: boolean): void {
    const listen = this.#script.listen!;
    if (!this.#speech) {
      if (!isSpeech) return;
      this.#speech = { silenceMs: 0 };
      this.#send({ type: 'UserStartedSpeaking' });
      this.#speaking?.abort();
      return;
    }
    this.#speech.silenceMs = isSpeech ? 0 : this.#speech.silenceMs + 20;
    if (this.#speech.silenceMs < listen.silenceMs) return;
    this.#speech = undefined;
    const heard = listen.heard[Math.min(this.#heardTurns++, listen.heard.length - 1)] ?? '';
    this.#startUserTurn(heard);
  }

  #scheduleFault(fault: AgentSessionFault): void {
    this.#timeline.at(fault.atMs, 1, () => {
      if (fault.kind === 'drop') dropConnection(this.#ws);
      else if (fault.kind === 'close') this.#close(fault.code, fault.reason);
      else if (fault.kind === 'error') this.#send({ type: 'Error', code: fault.code, description: fault.description });
      else this.#stalled = true;
    });
  }

  #startUserTurn(text: string): void {
    this.#userTurn(text).catch((err: unknown) => {
      // A throwing script function is reported the way the vendor reports its own failures.
      this.#send({ type: 'Error', code: 'INTERNAL_SERVER_ERROR', description: `fake server error: ${String(err)}` });
    });
  }

  async #userTurn(text: string): Promise<void> {
    this.#send({ type: 'ConversationText', role: 'user', content: text });
    this.#history.push({ role: 'user', content: text });
    const started = Date.now();
    const reply = await this.#replies.next({ userText: text, settings: this.handle.settings!, history: [...this.#history] });
    if (reply.thinking) this.#send({ type: 'AgentThinking', content: reply.thinking });
    if (reply.functionCalls?.length) {
      const calls = reply.functionCalls.map((c) => ({
        id: c.id ?? fakeId('call'),
        name: c.name,
        arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
        client_side: true,
      }));
      const answered = calls.map((c) => new Promise<void>((resolve) => this.#pendingCalls.set(c.id, resolve)));
      this.#send({ type: 'FunctionCallRequest', functions: calls });
      await Promise.race([Promise.all(answered), stallUntil(this.#closed.signal)]);
      for (const c of calls) this.#pendingCalls.delete(c.id);
      if (this.#closed.signal.aborted) return;
    }
    await this.#say(reply.text, reply, (Date.now() - started) / 1000);
  }

  #injectAgentMessage(message: agent.AgentV1InjectAgentMessage): void {
    if (typeof message.message !== 'string') return this.#unparsable('InjectAgentMessage requires "message".');
    if (this.#speaking && message.behavior !== 'interrupt' && message.behavior !== 'queue') {
      return this.#send({ type: 'InjectionRefused', message: 'The agent is speaking; the message was not injected.' });
    }
    if (message.behavior === 'interrupt') this.#speaking?.abort();
    void this.#say(message.message, {});
  }

  /** Speaks `text`: ConversationText, AgentStartedSpeaking, binary audio, AgentAudioDone. One at a time. */
  #say(text: string, reply: Partial<AgentReply>, thinkSeconds = 0): Promise<void> {
    const previous = this.#speechDone;
    const speaking = new AbortController();
    const done = (async () => {
      await previous;
      if (this.#closed.signal.aborted) return;
      this.#speaking = speaking;
      const signal = speaking.signal;
      this.#send({ type: 'ConversationText', role: 'assistant', content: text });
      this.#history.push({ role: 'assistant', content: text });
      this.#send({ type: 'AgentStartedSpeaking', total_latency: thinkSeconds + 0.05, tts_latency: 0.05, ttt_latency: thinkSeconds });
      const out = this.#output;
      const audio = encodePcm16(renderPcm16(reply.audio, text, out.rate), out.encoding);
      const frames = chunkAudio(audio, (out.rate * bytesPerSample(out.encoding)) / 1000, reply.chunkMs ?? 100);
      let sent = 0;
      if (await pause(reply.pace?.firstByteMs, signal)) {
        for (const frame of frames) {
          if (reply.fault && sent === (reply.fault.afterChunks ?? 0)) {
            if (reply.fault.kind === 'drop') return dropConnection(this.#ws);
            await stallUntil(signal);
            break;
          }
          if (sent > 0 && !(await pause(reply.pace?.betweenChunksMs, signal))) break;
          if (signal.aborted || this.#ws.readyState !== this.#ws.OPEN || this.#stalled) break;
          this.#ws.send(frame);
          this.handle.audioBytesSent += frame.length;
          this.handle.agentAudio.push(frame);
          this.handle.agentAudioAt.push(Date.now());
          sent += 1;
        }
      }
      if (this.#speaking === speaking) this.#speaking = undefined;
      this.#send({ type: 'AgentAudioDone' });
    })();
    this.#speechDone = done.catch(() => undefined);
    return this.#speechDone;
  }
}
