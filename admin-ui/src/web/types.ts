// The shapes the admin API answers with (the engine's call bodies are relayed as the engine sends them).

export interface Me {
  user: { name: string; role: string | null; mustChangePassword: boolean };
  scopes: string[];
}

export interface EngineStatus {
  /** `demo`: npm start found no Asterisk configured and runs the built-in test Asterisk. */
  health: { status?: string; version?: string; uptime_s?: number; demo?: boolean } | null;
  ready: { status: 'ready' | 'not_ready' | 'unreachable'; checks: Record<string, boolean> };
}

export interface TurnLatency {
  endpointingMs?: number;
  sttFinalMs?: number;
  llmFirstTokenMs?: number;
  firstSentenceMs?: number;
  ttsFirstAudioMs?: number;
  engineOverheadMs?: number;
  totalMs?: number;
}

export interface Turn {
  speaker: 'caller' | 'agent';
  text: string;
  startedAt: string;
  endedAt?: string;
  interrupted: boolean;
  latency?: TurnLatency;
}

export type CallEvent =
  | { kind: 'barge_in'; at: string; reactionMs?: number; decisionMs?: number; heardText: string }
  | { kind: 'false_barge_in'; at: string; reason: string; transcript: string; speechMs: number }
  | { kind: 'tool_call'; at: string; name: string; arguments: string; result: string }
  | { kind: 'provider_error'; at: string; provider: string; stage: string; message: string; recovered?: true }
  | { kind: 'dtmf'; at: string; digits: string }
  | {
      kind: 'usage';
      at: string;
      usage: {
        stt: Record<string, { audioSeconds: number }>;
        tts: Record<string, { characters: number }>;
        llm: Record<string, { replies: number; promptTokens: number; completionTokens: number; cachedTokens: number }>;
      };
    };

/** What the engine says about any call; the caller's number arrives masked. */
interface CallBase {
  id: string;
  context: string;
  transport: string;
  codec: string;
  callerNumber?: string;
  callerName?: string;
  startedAt: string;
  answeredAt?: string;
}

/** A call in progress as the engine lists it. */
export interface ActiveCall extends CallBase {
  state: string;
}

export interface CallSummary extends CallBase {
  endedAt?: string;
  outcome?: string;
  hangupCause?: string;
  turnCount: number;
}

export interface CallRecord extends Omit<CallSummary, 'turnCount'> {
  turns: Turn[];
  events: CallEvent[];
}

export interface CallList {
  active: ActiveCall[];
  recent: CallSummary[];
  nextBefore?: string;
}

export interface CallDetail {
  active: ActiveCall | null;
  record: CallRecord | null;
}

/** What the `call` event of /api/events carries: a call summary, `live` while it is in progress. */
export type CallUpdate = Partial<CallSummary> & Partial<ActiveCall> & { id: string; live?: boolean };

export type Metrics = Record<string, number | null>;

export interface Container {
  id: string;
  name: string;
  image: string;
  state: string;
  health: string | null;
  startedAt: string | null;
  restarts: number;
  service: string | null;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  at?: string;
  level?: string;
  text: string;
}

export interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

export interface User {
  name: string;
  role: string;
  mustChangePassword: boolean;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
  source: string;
}

export const SCOPES = ['calls:read', 'calls:write', 'calls:test', 'config:read', 'config:write', 'containers:read', 'logs:read', 'admin'] as const;
