// Keeps the model's history valid when the caller talks while tools run: every tool call must be answered, right
// after the assistant message that made it, before anything else (the chat APIs refuse a history otherwise).
import type { ChatMessage, ToolCall } from '../providers/types.ts';

type ToolMessage = Extract<ChatMessage, { role: 'tool' }>;

/** What the model reads for a call whose answer had not come when the caller spoke. */
export const PENDING_ANSWER = 'not answered yet: the caller spoke before this finished; the answer follows when it comes';
/** Put before an answer that came after the caller spoke (the caller has not been told it). */
const LATE_PREFIX = '(came after the caller spoke; not yet told to the caller) ';

/**
 * The caller starts a new turn: tool calls of the last assistant message still without an answer get a
 * stand-in, placed right after that message's answers, so the new turn's request is valid.
 */
export function holdOpenToolCalls(history: ChatMessage[]): void {
  let at = -1;
  for (let i = history.length - 1; i >= 0; i--) {
    const msg = history[i]!;
    if (msg.role === 'assistant' && msg.toolCalls?.length) {
      at = i;
      break;
    }
    if (msg.role === 'user') return;
  }
  if (at < 0) return;
  const calls = (history[at] as Extract<ChatMessage, { role: 'assistant' }>).toolCalls!;
  let end = at + 1;
  const answered = new Set<string>();
  while (end < history.length && history[end]!.role === 'tool') answered.add((history[end++] as ToolMessage).toolCallId);
  const standIns: ToolMessage[] = calls
    .filter((c) => !answered.has(c.id))
    .map((c) => ({ role: 'tool', toolCallId: c.id, name: c.name, content: PENDING_ANSWER }));
  history.splice(end, 0, ...standIns);
}

/**
 * A tool answered: into the stand-in its call got when the caller spoke meanwhile (so the next turn's request
 * carries it, in its place), else at the end of the history as usual.
 */
export function addToolAnswer(history: ChatMessage[], call: ToolCall, content: string): void {
  const standIn = history.find((m): m is ToolMessage => m.role === 'tool' && m.toolCallId === call.id);
  if (standIn) standIn.content = `${LATE_PREFIX}${content}`;
  else history.push({ role: 'tool', toolCallId: call.id, name: call.name, content });
}
