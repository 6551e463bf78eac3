// The config's MCP servers, each with a "Test" button: the engine starts a fresh instance of the server, lists
// its tools and stops it. Shown are the tools (name, description) or the engine's error, redacted by the engine.
import { useState, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { useLoad } from '../use-load.ts';

interface TestReport {
  ok: boolean;
  ms: number;
  tools?: Array<{ name: string; description: string }>;
  error?: string;
}

type Outcome = { running: true } | { report: TestReport } | { failed: string };

function ServerRow(props: { id: string; transport: string; canTest: boolean }): ReactNode {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const test = async (): Promise<void> => {
    setOutcome({ running: true });
    try {
      setOutcome({ report: await api<TestReport>('POST', `/api/mcp/servers/${encodeURIComponent(props.id)}/test`) });
    } catch (err) {
      setOutcome({ failed: problemText(err) });
    }
  };
  const running = outcome !== null && 'running' in outcome;
  return (
    <li data-testid={`mcp-server-${props.id}`}>
      <code>{props.id}</code> <span className="badge">{props.transport}</span>{' '}
      {props.canTest && <button onClick={() => void test()} disabled={running} aria-label={`Test ${props.id}`}>{running ? 'Testing…' : 'Test'}</button>}
      {outcome && 'report' in outcome && outcome.report.ok && (
        <div data-testid="mcp-test-tools">
          <Notice kind="ok">Started and listed {outcome.report.tools?.length ?? 0} tools in {outcome.report.ms} ms.</Notice>
          <table>
            <tbody>
              {outcome.report.tools?.map((t) => (
                <tr key={t.name}>
                  <td><code>{t.name}</code></td>
                  <td>{t.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {outcome && 'report' in outcome && !outcome.report.ok && <Notice kind="error" testId="mcp-test-error">Failed after {outcome.report.ms} ms: {outcome.report.error}</Notice>}
      {outcome && 'failed' in outcome && <Notice kind="error" testId="mcp-test-error">{outcome.failed}</Notice>}
    </li>
  );
}

export function McpServers(props: { canTest: boolean }): ReactNode {
  const servers = useLoad<{ servers: Array<{ id: string; transport: string }> }>('/api/mcp/servers');
  return (
    <section className="card" data-testid="mcp-servers">
      <h2>MCP servers</h2>
      <p className="muted">Configured under <code>mcp.servers</code>. A test starts a fresh instance of the server in the engine, lists its tools and stops it.</p>
      {servers.error && <Notice kind="error">{servers.error}</Notice>}
      {servers.data?.servers.length === 0 && <p className="muted">None configured.</p>}
      <ul className="plain">
        {servers.data?.servers.map((s) => <ServerRow key={s.id} id={s.id} transport={s.transport} canTest={props.canTest} />)}
      </ul>
    </section>
  );
}
