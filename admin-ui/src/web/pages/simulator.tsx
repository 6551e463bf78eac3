// Simulator: run a scenario of config/scenarios (or an edited one) as a simulated call through the engine's real
// conversation, tools and records, follow it while it runs, then read its report: each expectation passed or
// failed (expected against actual), the conversation as the engine heard and answered it, latency per turn.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { Link } from '../router.tsx';
import { useLoad } from '../use-load.ts';

interface ScenarioFile {
  file: string;
  name?: string;
  context?: string;
  turns?: number;
  error?: string;
  text?: string;
}

interface Check {
  where: string;
  what: string;
  passed: boolean;
  expected: string;
  actual: string;
}

interface Result {
  name: string;
  file: string;
  passed: boolean;
  durationMs: number;
  timeouts: string[];
  callId: string | null;
  checks: Check[];
  conversation: Array<{ where: string; heardAs: string; reply: string; tools: string; latencyMs: number | null }>;
}

interface Run {
  id: string;
  scenario: { file: string; name: string; context: string; turns: number };
  by: string;
  status: 'synthesising' | 'calling' | 'finished' | 'failed';
  step: string;
  result?: Result;
  error?: string;
}

const POLL_MS = 500;

function Report(props: { runId: string; result: Result }): ReactNode {
  const { result } = props;
  const passed = result.checks.filter((c) => c.passed).length;
  return (
    <section className="card" data-testid="simulation-report" data-run-id={props.runId} data-passed={String(result.passed)}>
      <h2>
        <span className={`badge ${result.passed ? 'badge-ok' : 'badge-unreachable'}`}>{result.passed ? 'PASS' : 'FAIL'}</span>
        {result.name}
      </h2>
      <p className="muted">
        {result.file} · {passed} of {result.checks.length} expectations held · {(result.durationMs / 1000).toFixed(1)} s
        {result.callId && <> · call record <Link to={`/calls/${encodeURIComponent(result.callId)}`}>{result.callId}</Link></>}
      </p>
      {result.timeouts.length > 0 && <Notice kind="error">The caller gave up waiting for: {result.timeouts.join(', ')}</Notice>}
      <h3>Expectations</h3>
      <table className="checks">
        <thead><tr><th>Part</th><th>Expectation</th><th>Result</th></tr></thead>
        <tbody>
          {result.checks.map((c, i) => (
            <tr key={i} className={c.passed ? 'check-pass' : 'check-fail'}>
              <td>{c.where}</td>
              <td>{c.what}</td>
              <td>
                {c.passed ? <>✓ {c.actual}</> : (
                  <div className="diff">
                    <div className="diff-expected">- expected: {c.expected}</div>
                    <div className="diff-actual">+ actual: {c.actual}</div>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Conversation</h3>
      <table>
        <thead><tr><th>Part</th><th>Caller (as the engine heard it)</th><th>Agent</th><th>Tools</th><th>Latency</th></tr></thead>
        <tbody>
          {result.conversation.map((part) => (
            <tr key={part.where}>
              <td>{part.where}</td>
              <td>{part.heardAs || <span className="muted">—</span>}</td>
              <td>{part.reply || <span className="muted">(nothing)</span>}</td>
              <td><code>{part.tools}</code></td>
              <td>{part.latencyMs === null ? '—' : `${part.latencyMs} ms`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function SimulatorPage(): ReactNode {
  const list = useLoad<{ scenarios: ScenarioFile[] }>('/api/simulations/scenarios');
  const [file, setFile] = useState('');
  const [text, setText] = useState('');
  const [run, setRun] = useState<Run | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const scenarios = list.data?.scenarios ?? [];
  const chosen = scenarios.find((s) => s.file === file) ?? scenarios.find((s) => !s.error);
  const original = chosen?.text ?? '';
  const running = run !== null && (run.status === 'synthesising' || run.status === 'calling');

  // Another file chosen (or the list loaded): its text, unless the operator has edited what was shown.
  const shown = useRef('');
  useEffect(() => {
    const before = shown.current;
    shown.current = original;
    setText((current) => (current === before ? original : current));
  }, [original]);

  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      api<Run>('GET', `/api/simulations/${run.id}`).then(setRun, (err: unknown) => setProblem(problemText(err)));
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [running, run?.id]);

  const start = async (): Promise<void> => {
    setProblem(null);
    setRun(null);
    try {
      // The file as it is on the engine, unless it was edited here.
      const body = text === original && chosen ? { file: chosen.file } : { text };
      setRun(await api<Run>('POST', '/api/simulations', body));
    } catch (err) {
      setProblem(problemText(err));
    }
  };

  return (
    <main className="page">
      <h1>
        Simulator
        {running && <span className="badge badge-live" data-testid="simulation-step">{run.step}</span>}
      </h1>
      <section className="card">
        <p className="muted">
          Runs a scenario (<code>config/scenarios/*.yaml</code>) as a simulated call into the running engine: the caller's turns are
          spoken with the context's voice and the agent answers through the real conversation, tools and records (a test call).
          <code> npm run simulate</code> runs the same scenarios through Asterisk, with the same verdict.
        </p>
        {list.error && <Notice kind="error">{list.error}</Notice>}
        <form onSubmit={(e) => { e.preventDefault(); void start(); }}>
          <label>
            Scenario
            <select value={chosen?.file ?? ''} onChange={(e) => setFile(e.target.value)} disabled={running}>
              {scenarios.map((s) => (
                <option key={s.file} value={s.file} disabled={s.error !== undefined}>
                  {s.file}{s.name ? ` — ${s.name}` : ''}{s.error ? ` (invalid: ${s.error})` : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            Scenario text {text !== original && <span className="muted">(edited: runs as edited, the file is not changed)</span>}
            <textarea className="yaml" rows={14} value={text} onChange={(e) => setText(e.target.value)} disabled={running} spellCheck={false} />
          </label>
          <p><button type="submit" disabled={running || !text.trim()}>{running ? 'Running…' : 'Run'}</button></p>
        </form>
        {problem && <Notice kind="error" testId="simulation-problem">{problem}</Notice>}
        {run?.status === 'failed' && <Notice kind="error" testId="simulation-problem">The simulation could not run: {run.error}</Notice>}
        {running && <p className="muted">{run.scenario.name}: {run.step}…</p>}
      </section>
      {run?.result && <Report runId={run.id} result={run.result} />}
    </main>
  );
}
