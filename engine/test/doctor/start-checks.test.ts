// The engine runs the doctor's checks itself once it listens, and takes the other engine's variable names:
// one real engine process started with only ASTERISK_* names for ARI, against a test peer missing chan_rtp.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createLogger } from '@ai-agent/common';
import { jsonLines, startService, type ServiceProcess } from '@ai-agent/common/testing';
import { startAsteriskPeer, startLocalAiFake, type AsteriskPeer, type LocalAiFake } from '@ai-agent/test-peers';
import { testConfig, type TestConfig } from '../control/engine-config.ts';

const ARI_PASSWORD = 'start-check-ari-password-51c0';
const LOCAL_TOKEN = 'start-check-local-token-9e21';

let peer: AsteriskPeer;
let local: LocalAiFake;
let config: TestConfig;
let engine: ServiceProcess;

before(async () => {
  [peer, local] = await Promise.all([
    startAsteriskPeer({ username: 'ai-agent', password: ARI_PASSWORD, log: createLogger({ service: 'asterisk-test-peer', level: 'error' }) }),
    startLocalAiFake({ token: LOCAL_TOKEN }),
  ]);
  peer.core.modules.unload('chan_rtp.so');
  config = testConfig({ telephony: { transport: 'rtp' }, providers: { local: { type: 'local_ai', url: local.url } } });
  engine = startService('engine/src/main.ts', {
    ...config.env,
    HEALTH_PORT: '0',
    LOCAL_WS_AUTH_TOKEN: LOCAL_TOKEN,
    // Only the other engine's names for the URL and the password; both names for the user, differing.
    ASTERISK_HOST: '127.0.0.1',
    ASTERISK_ARI_PORT: String(peer.port),
    ASTERISK_ARI_PASSWORD: ARI_PASSWORD,
    ARI_USERNAME: 'ai-agent',
    ASTERISK_ARI_USERNAME: 'someone-else',
  });
});

after(async () => {
  await engine?.stop();
  await Promise.all([peer?.close(), local?.close()]);
  config?.remove();
});

it('connects with the aliases, says which it read, and logs each start-check problem once with its fix', async () => {
  assert.ok(await peer.waitForApp('ai-agent', 60_000), `the engine registered its app through the aliases:\n${engine.stdout().slice(-3000)}`);
  await engine.waitFor(/start checks done/, 60_000);
  const lines = jsonLines(engine.stdout());
  const messages = (level: number): string[] => lines.filter((l) => l.level === level).map((l) => String(l.msg));

  const info = messages(30);
  assert.ok(info.includes("ASTERISK_ARI_PASSWORD is read as ARI_PASSWORD (this product's name for it)"), info.join('\n'));
  assert.ok(info.includes("ASTERISK_HOST + ASTERISK_ARI_PORT is read as ARI_URL (this product's name for it)"));
  assert.ok(
    messages(40).includes('ASTERISK_ARI_USERNAME and ARI_USERNAME are both set and differ (ARI_USERNAME=ai-agent, ASTERISK_ARI_USERNAME gives someone-else): ARI_USERNAME wins'),
    'the product name wins, and the engine connected with it',
  );

  const problems = lines.filter((l) => String(l.msg).startsWith('start check:'));
  assert.deepEqual(problems.map((l) => [l.level, l.msg, l.check]), [
    [50, 'start check: module chan_rtp.so: not loaded; needed for ExternalMedia RTP (telephony.transport: rtp)', 'asterisk.module.chan_rtp'],
  ]);
  assert.match(String(problems[0].fix), /module load chan_rtp\.so/);
  const done = lines.find((l) => l.msg === 'start checks done (npm run doctor for the full report)')!;
  assert.deepEqual([done.failed, done.warnings, done.skipped], [1, 0, 0]);
  assert.ok((done.passed as number) >= 8, `ARI, version, modules, media address, local AI hello, data: ${JSON.stringify(done)}`);
  const output = engine.stdout() + engine.stderr();
  assert.ok(!output.includes(ARI_PASSWORD) && !output.includes(LOCAL_TOKEN), 'no secret in the log');
});
