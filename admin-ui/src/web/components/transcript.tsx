// A call's conversation as it happened: turns and events (barge-ins, tool calls, errors, DTMF) in time order.
import type { ReactNode } from 'react';
import type { CallEvent, Turn } from '../types.ts';

type Entry = { at: string; turn: Turn; event?: undefined } | { at: string; event: CallEvent; turn?: undefined };

function eventText(e: CallEvent): string {
  switch (e.kind) {
    case 'barge_in':
      return `caller barged in${e.reactionMs !== undefined ? ` (audio stopped in ${Math.round(e.reactionMs)} ms)` : ''}; heard: “${e.heardText}”`;
    case 'false_barge_in':
      return `caller spoke over the agent without interrupting (${e.reason}): “${e.transcript}”`;
    case 'tool_call':
      return `tool ${e.name}(${e.arguments}) → ${e.result}`;
    case 'provider_error':
      return `${e.stage} provider ${e.provider} failed: ${e.message}${e.recovered ? ' (the caller was asked to say it again)' : ''}`;
    case 'dtmf':
      return `DTMF ${e.digits}`;
    case 'usage': {
      const { stt, tts, llm } = e.usage;
      return [
        ...Object.entries(stt).map(([p, u]) => `${p}: ${u.audioSeconds.toFixed(1)} s of audio recognised`),
        ...Object.entries(tts).map(([p, u]) => `${p}: ${u.characters} characters spoken`),
        ...Object.entries(llm).map(([p, u]) => `${p}: ${u.replies} replies, ${u.promptTokens} prompt / ${u.completionTokens} completion / ${u.cachedTokens} cached tokens`),
      ].join('; ');
    }
  }
}

export function Transcript(props: { turns: Turn[]; events: CallEvent[] }): ReactNode {
  const entries: Entry[] = [
    ...props.turns.map((turn) => ({ at: turn.startedAt, turn })),
    ...props.events.map((event) => ({ at: event.at, event })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  if (entries.length === 0) return <p className="muted">Nothing said yet.</p>;
  return (
    <ol className="transcript" data-testid="transcript">
      {entries.map((e, i) =>
        e.turn ? (
          <li key={i} className={`turn turn-${e.turn.speaker}${e.turn.interrupted ? ' interrupted' : ''}`}>
            <span className="who">{e.turn.speaker}</span>
            <span className="said">{e.turn.text}</span>
            {e.turn.interrupted && <span className="tag">interrupted</span>}
          </li>
        ) : (
          <li key={i} className={`event event-${e.event.kind}`}>
            <span className="who">{e.event.kind.replace(/_/g, ' ')}</span>
            <span className="said">{eventText(e.event)}</span>
          </li>
        ),
      )}
    </ol>
  );
}
