// The contracts both sides of a call share: telephony implements CallControl and hands over a MediaStream,
// the pipeline implements the conversation port; main.ts connects them. Imports no other engine layer but
// the codec names (audio/).
export type { CallInfo } from './call-info.ts';
export type { CallActions, CallControl, TransferTarget, WarmTransferResult, WarmTransferTarget } from './call-control.ts';
export type { CallEventRecord, CallOutcome, ProviderUsage, TurnLatency, TurnRecord } from './call-record.ts';
export type {
  CallRecordSink,
  ConversationFactory,
  ConversationPort,
  ConversationRequest,
  ConversationState,
  PrepareRequest,
} from './conversation-port.ts';
export { FRAME_MS, NO_PCM, PIPELINE_FRAME_SAMPLES, PIPELINE_SAMPLE_RATE } from './media-format.ts';
export type {
  FlushResult,
  InboundFrame,
  InboundFrameKind,
  JitterBufferStats,
  MediaStream,
  MediaStreamCounters,
  MediaStreamEvents,
  TransportKind,
} from './media-stream.ts';
