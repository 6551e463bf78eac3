// The per-turn latency waterfall: where the time between the caller's last word and the agent's first audio
// went (endpointing → STT final → LLM first token → TTS first audio), one row per turn, on one shared scale.
// The record holds each stage's duration, not its start, so stages are drawn in order and the measured total
// is marked on top of them.
import type { ReactNode } from 'react';
import type { Turn, TurnLatency } from '../types.ts';

interface Segment {
  stage: string;
  label: string;
  start: number;
  ms: number;
}

const ROW = 26;
const LABEL_W = 70;
const CHART_W = 560;

/** Stages as consecutive spans: each starts where what it waits for ended. */
export function segments(l: TurnLatency): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  const add = (stage: string, label: string, ms: number | undefined, start = at): void => {
    if (ms === undefined || ms < 0) return;
    out.push({ stage, label, start, ms });
    at = start + ms;
  };
  add('endpointing', 'endpointing', l.endpointingMs);
  add('stt', 'STT final', l.sttFinalMs);
  const llmStart = at;
  add('llm', 'LLM first token', l.llmFirstTokenMs);
  // TTS starts on the first complete sentence, which comes after the first token.
  if (l.firstSentenceMs !== undefined) at = llmStart + l.firstSentenceMs;
  add('tts', 'TTS first audio', l.ttsFirstAudioMs);
  return out;
}

export function Waterfall(props: { turns: Turn[] }): ReactNode {
  const rows = props.turns
    .map((turn, index) => ({ turn, index, parts: turn.latency ? segments(turn.latency) : [] }))
    .filter((r) => r.parts.length > 0);
  if (rows.length === 0) return <p className="muted">No turn latencies recorded for this call.</p>;
  const end = (r: (typeof rows)[number]): number =>
    Math.max(r.turn.latency?.totalMs ?? 0, ...r.parts.map((p) => p.start + p.ms));
  const scale = Math.max(1, ...rows.map(end));
  const x = (ms: number): number => LABEL_W + (ms / scale) * CHART_W;
  const height = rows.length * ROW + 24;
  return (
    <figure className="waterfall">
      <svg viewBox={`0 0 ${LABEL_W + CHART_W + 60} ${height}`} role="img" aria-label="per-turn latency waterfall" data-testid="waterfall">
        {rows.map((r, row) => {
          const y = row * ROW + 4;
          const total = r.turn.latency?.totalMs;
          return (
            <g key={r.index}>
              <text x={0} y={y + 15} className="wf-label">turn {r.index + 1}</text>
              {r.parts.map((p) => (
                <rect key={p.stage} x={x(p.start)} y={y} width={Math.max(1, x(p.start + p.ms) - x(p.start))} height={ROW - 8} className={`wf-${p.stage}`}>
                  <title>{`${p.label}: ${Math.round(p.ms)} ms`}</title>
                </rect>
              ))}
              {total !== undefined && <line x1={x(total)} x2={x(total)} y1={y - 2} y2={y + ROW - 6} className="wf-total" />}
              <text x={x(end(r)) + 6} y={y + 15} className="wf-value">{`${Math.round(total ?? end(r))} ms`}</text>
            </g>
          );
        })}
        <text x={LABEL_W} y={height - 4} className="wf-axis">0</text>
        <text x={LABEL_W + CHART_W} y={height - 4} className="wf-axis" textAnchor="end">{`${Math.round(scale)} ms`}</text>
      </svg>
      <figcaption className="legend">
        <span className="key wf-endpointing">endpointing</span>
        <span className="key wf-stt">STT final</span>
        <span className="key wf-llm">LLM first token</span>
        <span className="key wf-tts">TTS first audio</span>
        <span className="key wf-total">total (caller's last word → agent audio)</span>
        <span>
          Stages are laid end to end; the reply is prepared while endpointing waits, so they overlap and the
          total can be shorter than their sum.
        </span>
      </figcaption>
    </figure>
  );
}
