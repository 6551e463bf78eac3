/**
 * `npm run call`: place one scripted call and print what happened, writing what the caller heard. Into the
 * running stack when `npm start` runs in demo mode (found by its run file); otherwise start the Asterisk test
 * peer, wait for the engine's Stasis app to connect to it the way it connects to Asterisk, and call into that.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startAsteriskPeer, type PlaceCallOptions } from '../peer.ts';
import type { CallReport, TurnTiming } from '../caller/session.ts';
import { placeDemoCall } from '../demo/call-client.ts';
import { findDemoStack, type DemoRunFile } from '../demo/run-file.ts';
import { fromInvocationDir, loadRepoEnv } from './repo-env.ts';
import { defaultScript, readScriptFile } from './script-file.ts';

const HELP = `Usage: npm run call -- [options]

When \`npm start\` runs in demo mode (no Asterisk configured), places one scripted call into that
running stack through its built-in test Asterisk. Otherwise (or with --host, --port, --user or
--password) starts an Asterisk test peer (ARI + media, loopback only), waits for the engine's Stasis
app to register on its events WebSocket and places the call into it. Then prints the transcript and
wire timings and writes the caller-side recording.

Options:
  --host <addr>           loopback address the peer listens on (default 127.0.0.1)
  --port <n>              ARI/HTTP port (default 8088, as Asterisk; 0 = any free port)
  --user <name>           ARI username the engine must use (default: $ARI_USERNAME or ai-agent)
  --password <secret>     ARI password (default: $ARI_PASSWORD, else a random one that is printed)
  --app <name>            Stasis app to call into (default: $ARI_APP or ai-agent)
  --wait <seconds>        how long to wait for the app to register (default 30)
  --context <name>        sets AI_CONTEXT on the call (default: default)
  --var KEY=VALUE         another channel variable (repeatable)
  --args a,b              Stasis() arguments (default inbound)
  --caller-number <n>     caller id number (default 15550100)
  --caller-name <name>    caller id name (default "Test Caller")
  --question <text>       what the default script asks (spoken with flite)
  --script <file.json>    a script: JSON array of steps such as
                          [{"waitForAgentSilence":{"silenceMs":1000}},{"say":"sound:hello-world"},
                           {"bargeIn":{"afterMs":800,"say":"tts:Stop please"}},{"dtmf":"12"},{"hangup":true}]
  --answered              the dialplan answered before Stasis() (default: the app must answer)
  --transmit-silence      the caller streams silence between utterances (Asterisk transmit_silence)
  --wav <file>            where to write the caller-side recording (default call-<time>.wav)
  --json                  print the report as JSON instead of text
  --help                  this text
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  loadRepoEnv();
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      app: { type: 'string' },
      wait: { type: 'string', default: '30' },
      context: { type: 'string', default: 'default' },
      var: { type: 'string', multiple: true, default: [] },
      args: { type: 'string', default: 'inbound' },
      'caller-number': { type: 'string', default: '15550100' },
      'caller-name': { type: 'string', default: 'Test Caller' },
      question: { type: 'string', default: 'Hello, what are your opening hours?' },
      script: { type: 'string' },
      answered: { type: 'boolean', default: false },
      'transmit-silence': { type: 'boolean', default: false },
      wav: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const ownPeer = [values.host, values.port, values.user, values.password].some((v) => v !== undefined);
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port ?? '8088');
  const waitS = Number(values.wait);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: not a port: ${values.port}`);
  if (!(waitS > 0)) fail(`--wait: not a number of seconds: ${values.wait}`);
  const variables: Record<string, string> = { AI_CONTEXT: values.context! };
  for (const kv of values.var as string[]) {
    const eq = kv.indexOf('=');
    if (eq <= 0) fail(`--var: expected KEY=VALUE, got ${kv}`);
    variables[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const script = values.script ? readScriptFile(fromInvocationDir(values.script)) : defaultScript(values.question!);
  const call: Omit<PlaceCallOptions, 'app'> = {
    args: values.args ? values.args.split(',') : [],
    variables,
    callerId: { number: values['caller-number'], name: values['caller-name'] },
    script,
    answered: values.answered,
    transmitSilence: values['transmit-silence'],
  };
  const wav = fromInvocationDir(values.wav ?? `call-${new Date().toISOString().replace(/[:.]/g, '-')}.wav`);
  const demo = ownPeer ? null : findDemoStack();
  const report = demo
    ? await callDemoStack(demo, { ...call, app: values.app || demo.app, waitForAppMs: waitS * 1000 })
    : await callOwnPeer({ ...call, app: values.app || process.env.ARI_APP || 'ai-agent' }, { host, port, waitS, user: values.user, password: values.password });
  report.writeWav(wav);
  if (values.json) out(JSON.stringify({ ...report, recording: undefined, wav }, null, 2));
  else printReport(report, wav);
  process.exitCode = report.endedBy === 'error' ? 1 : 0;
}

async function callDemoStack(demo: DemoRunFile, call: PlaceCallOptions & { app: string }): Promise<CallReport> {
  out(`Calling the running demo stack (npm start in demo mode: the built-in test Asterisk, Stasis app '${call.app}')…`);
  const { report } = await placeDemoCall(demo, call);
  return report;
}

async function callOwnPeer(
  call: PlaceCallOptions & { app: string },
  opts: { host: string; port: number; waitS: number; user?: string; password?: string },
): Promise<CallReport> {
  const { app } = call;
  const { host, port, waitS } = opts;
  const username = opts.user || process.env.ARI_USERNAME || 'ai-agent';
  const passwordFromEnv = !opts.password && Boolean(process.env.ARI_PASSWORD);
  const password = opts.password || process.env.ARI_PASSWORD || randomBytes(12).toString('hex');

  const peer = await startAsteriskPeer({ host, port, username, password }).catch((err: Error) =>
    fail(`cannot start the peer on ${host}:${port}: ${err.message}`),
  );
  out(`Asterisk test peer listening. Point the engine at it:`);
  out(`  ARI_URL=${peer.url}`);
  out(`  ARI_USERNAME=${username}`);
  out(`  ARI_PASSWORD=${passwordFromEnv ? '(the value already in your environment)' : password}`);
  out(`  ARI_APP=${app}`);
  out(`Waiting up to ${waitS} s for Stasis app '${app}' to register…`);
  const registered = await peer.waitForApp(app, waitS * 1000);
  if (!registered) {
    await peer.close();
    fail(`no Stasis app '${app}' registered within ${waitS} s (is the engine running and pointed at ${peer.url}?)`);
  }
  out(`Stasis app '${app}' registered; placing the call.`);
  const placed = await peer.placeCall(call);
  const report = await placed.done;
  await peer.close();
  return report;
}

function printReport(r: CallReport, wav: string): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  out('');
  out('Transcript');
  for (const e of r.transcript) out(`  ${s(e.atMs).padStart(7)}  ${e.who.padEnd(8)} ${e.text}`);
  out('');
  out('Timings (measured on the wire)');
  out(`  call duration           ${s(r.durationMs)} (ended by ${r.endedBy}${r.error ? `: ${r.error}` : ''})`);
  out(`  first agent audio       ${r.firstAgentAudioMs === null ? 'never' : s(r.firstAgentAudioMs)}`);
  const answer = (t: TurnTiming) =>
    t.responseLatencyMs === null
      ? 'no answer'
      : `${t.responseLatencyMs} ms${t.replyLeadInMs ? `, ${t.replyLeadInMs} ms of it the reply's inaudible lead-in` : ''}`;
  r.turns.forEach((t, i) => out(`  turn ${i + 1} response latency ${answer(t)} (after ${t.audio})`));
  r.bargeIns.forEach((b, i) =>
    out(`  barge-in ${i + 1}: agent stopped ${b.agentStopMs === null ? 'never' : `${b.agentStopMs} ms`} after caller onset, response latency ${answer(b)}`),
  );
  out(`  gaps in agent audio     ${r.gaps.count} (longest ${r.gaps.maxMs} ms, ${r.gaps.totalMs} ms missing)`);
  if (r.timeouts.length) out(`  timed out waiting for   ${r.timeouts.join(', ')}`);
  out('');
  out(`Caller-side recording: ${wav}`);
}

main().catch((err: unknown) => fail(`npm run call failed: ${(err as Error).message}`));
