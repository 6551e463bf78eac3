#!/usr/bin/env node
// Checks the dependency table (.dependency-cruiser.cjs, as `npm run lint:deps`), then runs every test file
// (`<workspace>/test/**/*.test.ts`) with Node's built-in runner (this script runs under `--import tsx`, which
// the runner passes on to each file's process). Node 20's `--test` does not expand globs, so the list is built here.
// Usage: npm test [-- <substring filter>...]
//
// Three lanes, one report. Many tests measure real time on the wire (pacing, latency, event-loop lateness):
// a neighbour saturating both cores would measure the machine, not the code. So:
// - SHARED files measure no timing a busy neighbour could break (HTTP APIs, parsers, databases, containers, a
//   browser): they run two at a time;
// - PAIRED files are calls in real time that use little CPU (one or two calls, waits on the caller's script) and
//   whose bounds are seconds, not milliseconds: they run two at a time, beside each other only;
// - every other file runs alone: load tests, pacing and latency measurements, CPU-bound recognition (the
//   browser test call too: its caller is heard through Chromium's audio path and the local recogniser).
// Within a lane the longest files start first (LONGEST_FIRST), so the lane does not end on one long file.
// The summary adds the lanes up, printed once as the runner prints it.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';
import fileTimes from './file-times-reporter.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const workspaces = ['common', 'engine', 'local-ai-server', 'admin-ui', 'test-peers', 'bench'];
const filters = process.argv.slice(2);

/** Test files (or folders, ending in /) that may share the machine with another shared file. */
const SHARED = [
  'admin-ui/test/api/',
  'admin-ui/test/browser/admin-pages.test.ts',
  'admin-ui/test/browser/containers.test.ts',
  'admin-ui/test/deploy/',
  'admin-ui/test/docker/',
  'admin-ui/test/security/',
  'common/test/',
  'engine/test/attack/',
  'engine/test/control/admission.test.ts',
  'engine/test/control/browser-and-errors.test.ts',
  'engine/test/control/call-routes.test.ts',
  'engine/test/control/config-reload.test.ts',
  'engine/test/control/listeners.test.ts',
  'engine/test/control/metrics.test.ts',
  'engine/test/control/operations-process.test.ts',
  'engine/test/control/operations.test.ts',
  'engine/test/control/ops-dashboard.test.ts',
  'engine/test/control/redaction-canary.test.ts',
  'engine/test/control/remote-auth.test.ts',
  'engine/test/control/start-signals.test.ts',
  'engine/test/doctor/',
  'engine/test/e2e/http-tools-and-webhooks.test.ts',
  'engine/test/e2e/scale-out.test.ts',
  'engine/test/e2e/shards.test.ts',
  'engine/test/egress/',
  'engine/test/fuzz/',
  'engine/test/media/audiosocket-handoff.test.ts',
  'engine/test/media/fuzz.test.ts',
  'engine/test/pipeline/level-onset.test.ts',
  'engine/test/pipeline/text-and-providers.test.ts',
  'engine/test/providers/agent/config.test.ts',
  'engine/test/providers/keyless-local-llm.test.ts',
  'engine/test/providers/local-ai-wire.test.ts',
  'engine/test/providers/vendor-requests.test.ts',
  'engine/test/store/postgres-store.test.ts',
  'engine/test/store/sqlite-store.test.ts',
  'engine/test/store/store-settings.test.ts',
  'engine/test/telephony/application-replaced.test.ts',
  'engine/test/tools/',
  'engine/test/webhooks/',
  'local-ai-server/test/channel-transform.test.ts',
  'local-ai-server/test/fuzz/',
  'test-peers/test/ari-http.test.ts',
  'test-peers/test/channel-move.test.ts',
  'test-peers/test/codec.test.ts',
  'test-peers/test/demo-mode.test.ts',
  'test-peers/test/fakes/',
  'test-peers/test/impairment.test.ts',
  'test-peers/test/modules-and-applications.test.ts',
];

/** Real-time call tests light enough to share the machine with one another. */
const PAIRED = [
  'admin-ui/test/browser/live-call.test.ts',
  'engine/test/control/drain.test.ts',
  'engine/test/e2e/dialplan-audiosocket.test.ts',
  'engine/test/e2e/drain.test.ts',
  'engine/test/e2e/faults.test.ts',
  'engine/test/e2e/full-call.test.ts',
  'engine/test/e2e/provider-stacks.test.ts',
  'engine/test/e2e/recogniser-busy.test.ts',
  'engine/test/e2e/stasis-race.test.ts',
  'engine/test/e2e/warm-transfer.test.ts',
  'engine/test/media/backpressure.test.ts',
  'engine/test/providers/agent/agent-conversation.test.ts',
  'engine/test/providers/agent/deepgram-agent.test.ts',
  'engine/test/providers/agent/openai-realtime.test.ts',
  'engine/test/providers/agent/send-backlog.test.ts',
  'engine/test/providers/cloud-pipeline-call.test.ts',
  'engine/test/providers/conformance/conformance.test.ts',
  'engine/test/providers/fallback-chains.test.ts',
  'engine/test/providers/local-ai-connection.test.ts',
  'engine/test/providers/local-ai-stt-busy.test.ts',
  'engine/test/telephony/call-session.test.ts',
  'engine/test/telephony/stasis-app.test.ts',
  'engine/test/telephony/warm-transfer.test.ts',
  'local-ai-server/test/dialogue.test.ts',
  'local-ai-server/test/server-security.test.ts',
  'test-peers/test/ari-client.test.ts',
  'test-peers/test/cli.test.ts',
  'test-peers/test/simulator.test.ts',
  'test-peers/test/transfer.test.ts',
  'test-peers/test/warm-transfer-peer.test.ts',
];

/** Files that take longest, longest first (measured on the 2-core CI machine). */
const LONGEST_FIRST = [
  'engine/test/e2e/faults.test.ts',
  'engine/test/e2e/full-call.test.ts',
  'admin-ui/test/deploy/images.test.ts',
  'admin-ui/test/browser/admin-pages.test.ts',
  'admin-ui/test/browser/test-call.test.ts',
  'test-peers/test/simulator.test.ts',
  'engine/test/e2e/provider-stacks.test.ts',
  'engine/test/e2e/recogniser-busy.test.ts',
  'admin-ui/test/browser/live-call.test.ts',
  'engine/test/attack/listeners-under-attack.test.ts',
  'engine/test/tools/mcp/mcp-call.test.ts',
  'engine/test/control/start-signals.test.ts',
  'engine/test/e2e/scale-out.test.ts',
  'engine/test/attack/media-websocket-and-defaults.test.ts',
  'engine/test/control/listeners.test.ts',
  'test-peers/test/demo-mode.test.ts',
  'engine/test/e2e/dialplan-audiosocket.test.ts',
  'common/test/fuzz/config-and-signatures.test.ts',
];

const listed = (list) => (file) => list.some((s) => (s.endsWith('/') ? file.startsWith(s) : file === s));
const shared = listed(SHARED);
const paired = listed(PAIRED);
const rank = (file) => {
  const i = LONGEST_FIRST.indexOf(file);
  return i < 0 ? LONGEST_FIRST.length : i;
};

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

// A layer importing against the table fails the run before any test: the violations are printed, each with its rule.
const deps = spawnSync(
  join(root, 'node_modules', '.bin', 'depcruise'),
  [...workspaces, '--config', '.dependency-cruiser.cjs', '--output-type', 'err-long'],
  { cwd: root, stdio: 'inherit' },
);
if (deps.status !== 0) {
  console.error('dependency check failed: the imports above break the table in .dependency-cruiser.cjs');
  process.exit(1);
}

// The services the tests start run compiled, as `npm start` runs them (common/src/testing/process.ts, nodeEntry).
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-services.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('building the services failed (output above)');
  process.exit(1);
}
process.env.SERVICES_COMPILED = '1';

const files = workspaces
  .flatMap((ws) => walk(join(root, ws, 'test'), []))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
  .sort((a, b) => rank(a) - rank(b));

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const lanes = [
  { name: 'shared', files: files.filter(shared), concurrency: Number(process.env.TEST_SHARED_CONCURRENCY ?? 2) },
  { name: 'paired', files: files.filter((f) => paired(f) && !shared(f)), concurrency: Number(process.env.TEST_PAIRED_CONCURRENCY ?? 2) },
  { name: 'alone', files: files.filter((f) => !shared(f) && !paired(f)), concurrency: 1 },
].filter((lane) => lane.files.length > 0);

/**
 * A test file still running after this long has hung (the longest take about 3 minutes): it fails and its process
 * is killed, instead of the run waiting for ever on something a test left listening.
 */
const FILE_TIMEOUT_MS = 10 * 60_000;

const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const totals = new Map();
/** Node's `fail` counts tests only: a suite failing in a hook (before/after) alone is counted here. */
let suiteFailed = false;

/** The lanes' events in order, their separate summaries replaced by one. */
async function* events() {
  for (const lane of lanes) {
    const start = performance.now();
    for await (const event of run({ files: lane.files.map((f) => join(root, f)), concurrency: lane.concurrency, timeout: FILE_TIMEOUT_MS })) {
      const summary = event.type === 'test:diagnostic' && event.data.nesting === 0 ? SUMMARY.exec(event.data.message) : null;
      if (summary) totals.set(summary[1], (totals.get(summary[1]) ?? 0) + Number(summary[2]));
      else yield event;
      if (event.type === 'test:fail' && !event.data.todo) suiteFailed = true;
    }
    lane.seconds = (performance.now() - start) / 1000;
  }
  for (const [name, value] of totals) yield { type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${value}` } };
}

// Each reporter reads the whole stream: both are fed from one pass over the events.
const all = [];
for await (const chunk of Readable.from(events()).map((event) => (all.push(event), event)).compose(new spec())) process.stdout.write(chunk);
for await (const line of fileTimes(Readable.from(all))) process.stdout.write(line);
process.stdout.write(`lanes: ${lanes.map((l) => `${l.name} ${l.files.length} files ${l.concurrency} at a time ${l.seconds.toFixed(0)} s`).join('; ')}\n`);
if (suiteFailed && !totals.get('fail')) process.stdout.write('a suite failed outside its tests (in a before/after hook): see ✖ above\n');
process.exit(suiteFailed || (totals.get('fail') ?? 0) > 0 || (totals.get('cancelled') ?? 0) > 0 ? 1 : 0);
