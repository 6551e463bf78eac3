import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '@ai-agent/common/testing';

// A real process using the common layer the way every service does, writing secrets through every path a
// service has: its logger, console, a third-party style direct write, a child process, and an uncaught throw.
const SCRIPT = `
import { spawn } from 'node:child_process';
import { createLogger, installOutputScrubber, pipeScrubbed, registerEnvSecrets, registerPhoneNumber } from '@ai-agent/common';
registerEnvSecrets();
const log = createLogger({ service: 'canary' });
installOutputScrubber(log);
registerPhoneNumber(process.env.CALLER);
log.info({ caller: process.env.CALLER, header: 'Bearer ' + process.env.BEARER }, 'call from ' + process.env.CALLER);
console.log('console', process.env.MY_SERVICE_TOKEN, process.env.CALLER);
process.stderr.write('direct ' + process.env.MY_SERVICE_TOKEN + '\\n');
const child = spawn('sh', ['-c', 'echo child says $MY_SERVICE_TOKEN; echo child err $MY_SERVICE_TOKEN >&2']);
pipeScrubbed(child.stdout, log, 'sh');
pipeScrubbed(child.stderr, log, 'sh');
child.on('exit', () => setTimeout(() => { throw new Error('boom with ' + process.env.MY_SERVICE_TOKEN); }, 10));
`;

describe('output scrubber on a real process', () => {
  it('masks secrets and caller numbers on every output path, including an uncaught exception', async () => {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const bearer = randomBytes(12).toString('hex');
    const caller = '4155550123';
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, MY_SERVICE_TOKEN: token, BEARER: bearer, CALLER: caller },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1, 'the uncaught exception ends the process');
    assert.match(out, /uncaught exception/);
    assert.match(out, /child says \[REDACTED\]/);
    assert.match(out, /child err \[REDACTED\]/);
    assert.match(out, /boom with \[REDACTED\]/);
    assert.match(out, /\*\*\*0123/);
    for (const secret of [token, bearer, caller]) assert.ok(!out.includes(secret), `${secret} leaked:\n${out}`);
  });
});
