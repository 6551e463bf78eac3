import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ari from 'ari-client';
import { nodeArgs } from '@ai-agent/common/testing';
import { readWav } from '../src/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...nodeArgs('test-peers/src/cli/call.ts'), ...args], {
    cwd: root,
    env: { ...process.env, ARI_PASSWORD: '', ARI_USERNAME: '', ARI_APP: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exit = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  return { child, exit, out: () => stdout, err: () => stderr };
}

test('npm run call without an engine reports the missing Stasis app and exits non-zero', async () => {
  const run = runCli(['--port', '0', '--wait', '1']);
  assert.equal(await run.exit, 1);
  assert.match(run.err(), /no Stasis app 'ai-agent' registered within 1 s/);
  assert.match(run.out(), /ARI_URL=http:\/\/127\.0\.0\.1:\d+/);
});

test('npm run call --help documents the flags', async () => {
  const run = runCli(['--help']);
  assert.equal(await run.exit, 0);
  for (const flag of ['--port', '--wait', '--script', '--wav', '--context', '--transmit-silence']) assert.ok(run.out().includes(flag), flag);
});

test('npm run call places a scripted call into a Stasis app and writes the caller-side WAV', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'call-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'script.json');
  writeFileSync(script, JSON.stringify([{ waitForAgentSilence: { silenceMs: 500, timeoutMs: 8000 } }, { say: 'sound:hello-world' }, { hangup: true }]));
  const wav = join(dir, 'out.wav');
  const run = runCli(['--port', '0', '--wait', '20', '--user', 'eng', '--password', 'pw', '--script', script, '--wav', wav, '--context', 'support']);
  t.after(() => run.child.kill());
  const url = await new Promise<string>((resolve) => {
    const poll = setInterval(() => {
      const m = /ARI_URL=(\S+)/.exec(run.out());
      if (m) (clearInterval(poll), resolve(m[1]));
    }, 20);
  });
  const client: any = await ari.connect(url, 'eng', 'pw');
  t.after(() => client.stop());
  let context = '';
  client.on('StasisStart', async (_e: any, channel: any) => {
    context = channel.channelvars.AI_CONTEXT;
    await channel.answer();
    await channel.play({ media: 'sound:demo-thanks' });
  });
  await client.start('ai-agent');
  assert.equal(await run.exit, 0, run.err());
  assert.equal(context, 'support');
  assert.match(run.out(), /Transcript/);
  assert.match(run.out(), /first agent audio\s+\d+\.\d+s/);
  assert.ok(existsSync(wav));
  const rec = readWav(wav);
  assert.equal(rec.sampleRate, 8000);
  assert.ok(rec.samples.some((s) => Math.abs(s) > 1000), 'the recording holds the prompt the app played');
});
