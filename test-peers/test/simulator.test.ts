import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { synthesise, writeWav } from '../src/index.ts';
import { killAll, processesWith, productEnv, runProduct } from './product-process.ts';

// `npm run simulate` as an operator runs it, with no demo stack running: it validates every scenario file first,
// then starts a stack of its own (scripts/start.mjs in demo mode on free ports) for the run and stops it after.

const dir = mkdtempSync(join(tmpdir(), 'simulator-'));
/** The command's temporary directory: what it leaves behind shows here. */
const tmp = join(dir, 'tmp');
let env: Record<string, string>;

const simulate = (args: string[]) => runProduct('npm', ['--prefix', REPO_ROOT, '--silent', 'run', 'simulate', '--', ...args], env, dir);

function scenario(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

describe('npm run simulate', { timeout: 180_000 }, () => {
  before(() => {
    mkdirSync(tmp);
    // No run file in this data directory: no demo stack is running.
    env = productEnv({ DATA_DIR: join(dir, 'data'), TMPDIR: tmp });
  });

  after(() => {
    killAll(processesWith(`TMPDIR=${tmp}`));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses malformed scenario files, naming the file and the key, and runs nothing', async () => {
    const files = {
      unknownKey: scenario('unknown-key.yaml', 'name: a\nturns:\n  - say: hello\n    expect: { contans: hours }\n'),
      badRegex: scenario('bad-regex.yaml', 'name: b\nturns:\n  - say: hello\n    expect: { matches: "(open" }\n'),
      twoKinds: scenario('two-kinds.yaml', 'name: c\nturns:\n  - say: hello\n  - say: again\n    dtmf: "1"\n'),
      outcome: scenario('outcome.yaml', 'name: d\nturns: [{ say: hello }]\nexpect: { outcome: hung_up }\n'),
      noTurns: scenario('no-turns.yaml', 'name: e\nturns: []\n'),
      missingWav: scenario('missing-wav.yaml', 'name: f\nturns: [{ wav: nowhere.wav }]\n'),
      syntax: scenario('syntax.yaml', 'name: g\nturns: [{ say: hello }\n'),
    };
    const run = simulate(Object.values(files));
    assert.equal(await run.exited, 2, run.stderr());
    assert.equal(run.stdout(), '');
    const lines = run.stderr().trim().split('\n').filter((l) => l.startsWith('scenario error'));
    const expected: Array<[string, RegExp]> = [
      [files.unknownKey, /turns\.0\.expect: Unrecognized key: "contans"/],
      [files.badRegex, /turns\.0\.expect\.matches: not a valid regular expression/],
      [files.twoKinds, /turns\.1: a turn needs exactly one of say, wav, dtmf/],
      [files.outcome, /expect\.outcome: Invalid option: expected one of "completed"\|/],
      [files.noTurns, /turns: Too small/],
      [files.missingWav, /turns\.0\.wav: file not found/],
      [files.syntax, /\(yaml\): syntax error at line \d+/],
    ];
    assert.equal(lines.length, expected.length, run.stderr());
    expected.forEach(([file, reason], i) => {
      // Named as the operator named it (here: relative to where the command ran).
      assert.ok(lines[i]!.startsWith(`scenario error in ${basename(file)}: `), lines[i]);
      assert.match(lines[i]!, reason);
    });
    assert.ok(!/starting one/.test(run.stderr()), 'no stack was started');
  });

  it('starts a stack of its own: the shipped scenarios pass, a wrong expectation fails with a diff, exit code 1', async () => {
    // The caller's words as a recording this time (a `wav` turn, relative to the scenario file).
    writeWav(join(dir, 'hours.wav'), await synthesise('What are your opening hours?'), 8000);
    const wrong = scenario(
      'wrong.yaml',
      `name: Hours, expecting the wrong answer
turns:
  - wav: hours.wav
    expect:
      contains: we are closed on Mondays
expect:
  outcome: transferred
`,
    );
    const shipped = join(REPO_ROOT, 'config/scenarios');
    const names = readdirSync(shipped).filter((f) => f.endsWith('.yaml'));
    assert.ok(names.length >= 3, 'scenarios ship for the default context');
    const run = simulate(['--parallel', '2', shipped, wrong]);
    assert.equal(await run.exited, 1, run.stdout() + run.stderr());
    assert.match(run.stderr(), /no demo stack running; starting one/);
    const out = run.stdout();
    for (const name of names) assert.match(out, new RegExp(`^PASS {2}.*\\(${join(shipped, name)};`, 'm'), `${name} passes:\n${out}`);
    assert.match(out, /^FAIL {2}Hours, expecting the wrong answer {2}\(/m);
    // The failure reads as a diff: what was expected, what the agent did, and the conversation.
    assert.match(out, / {4}✗ turn 1: reply contains "we are closed on Mondays"\n {8}- expected: a reply containing "we are closed on Mondays"\n {8}\+ actual: {3}"We are open Monday to Friday/);
    assert.match(out, / {4}✗ call: outcome\n {8}- expected: transferred\n {8}\+ actual: {3}caller_hangup/);
    assert.match(out, /turn 1 +caller: \S.*\n +turn 1 +agent: +"?We are open/);
    assert.match(out, new RegExp(`${names.length + 1} scenarios: ${names.length} passed, 1 failed`));
    // The stack it started is gone, and so are its temporary files.
    assert.deepEqual(processesWith(`TMPDIR=${tmp}`), []);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('simulate-')), []);
  });
});
