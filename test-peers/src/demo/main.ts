// Demo mode's Asterisk: `npm start` (scripts/start.mjs) runs this process when no Asterisk is configured. The
// Asterisk test peer answers ARI on loopback with the one-time credentials start.mjs sends over IPC (they never
// touch the disk or the environment); its call API lets `npm run call` and `npm run simulate` place calls.
import { randomBytes } from 'node:crypto';
import { createLogger, installOutputScrubber, registerSecret } from '@ai-agent/common';
import { z } from 'zod';
import { startAsteriskPeer } from '../peer.ts';
import { startCallApi } from './call-api.ts';
import { demoRunFilePath, removeDemoRunFile, writeDemoRunFile } from './run-file.ts';

const credentialsSchema = z.strictObject({ username: z.string().min(1), password: z.string().min(16), app: z.string().min(1) });

// Errors only unless PEER_LOG_LEVEL says otherwise: the peer warns about every refused ARI request, and
// ari-client's first request (its API description) always comes without credentials.
const log = createLogger({ service: 'asterisk-demo', level: process.env.PEER_LOG_LEVEL ?? 'error' });
installOutputScrubber(log);

if (!process.send) {
  process.stderr.write('the demo Asterisk is started by npm start (scripts/start.mjs) when ARI_PASSWORD is not set\n');
  process.exit(2);
}

process.once('message', (message: unknown) => {
  const parsed = credentialsSchema.safeParse(message);
  if (!parsed.success) {
    log.error('demo Asterisk: malformed start message from npm start');
    process.exit(2);
  }
  void run(parsed.data).catch((err: unknown) => {
    log.error({ reason: (err as Error).message }, 'demo Asterisk failed to start');
    process.exit(1);
  });
});

async function run(credentials: z.infer<typeof credentialsSchema>): Promise<void> {
  registerSecret(credentials.password);
  const token = randomBytes(32).toString('base64url');
  registerSecret(token);
  const peer = await startAsteriskPeer({ host: '127.0.0.1', port: 0, username: credentials.username, password: credentials.password, log });
  const api = await startCallApi({ peer, token, defaultApp: credentials.app, log });
  const runFile = demoRunFilePath();
  writeDemoRunFile(runFile, {
    pid: process.pid,
    calls: api.url,
    token,
    app: credentials.app,
    engine: `http://127.0.0.1:${process.env.HEALTH_PORT?.trim() || '15000'}`,
    localAi: `ws://127.0.0.1:${process.env.LOCAL_WS_PORT?.trim() || '8765'}`,
  });

  process.on('exit', () => removeDemoRunFile(runFile));

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await api.close();
    await peer.close();
    process.exit(0);
  };
  // start.mjs signals this process after the engine has drained; losing start.mjs (IPC closed) ends it too.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop());
  process.on('disconnect', () => void stop());
  process.send!({ type: 'listening', port: peer.port });
}
