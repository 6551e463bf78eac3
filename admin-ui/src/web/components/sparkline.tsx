// A small line chart drawn as SVG attributes (no inline style, no chart library): the last values of one figure.
import type { ReactNode } from 'react';

const W = 160;
const H = 36;

export function Sparkline(props: { values: Array<number | null>; label: string }): ReactNode {
  const points = props.values.map((v, i) => [i, v] as const).filter((p): p is readonly [number, number] => p[1] !== null);
  if (points.length < 2) return <svg className="sparkline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.label}: not enough data yet`} />;
  const max = Math.max(...points.map((p) => p[1]));
  const min = Math.min(...points.map((p) => p[1]));
  const span = max - min || 1;
  const step = W / Math.max(1, props.values.length - 1);
  const path = points.map(([i, v], n) => `${n === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(H - 2 - ((v - min) / span) * (H - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="sparkline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.label}: from ${min} to ${max}`}>
      <path d={path} className="sparkline-line" fill="none" />
    </svg>
  );
}
