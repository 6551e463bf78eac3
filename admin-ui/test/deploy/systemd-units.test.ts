// deploy/systemd's units, checked by systemd's own tools: `systemd-analyze verify` (syntax, directives, the
// executable exists; any warning fails, an unknown key included) and `systemd-analyze security --offline=yes` (the
// sandbox each asks for, and its exposure score: docs/deploy.md records them). They are not started here: this
// machine's PID 1 is not systemd.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@ai-agent/common/testing';

const DIR = join(REPO_ROOT, 'deploy/systemd');
const SERVICES = readdirSync(DIR).filter((f) => f.endsWith('.service')).sort();
const skip = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'systemd-analyze is not installed (Debian package systemd)';
/** The highest exposure docs/deploy.md allows for a service (systemd calls up to 2.0 "OK"). */
const MAX_EXPOSURE = 1.5;
/** Sandboxing every unit must have, as `systemd-analyze security` names what it found. */
const REQUIRED = ['NoNewPrivileges=', 'ProtectSystem=', 'ProtectHome=', 'PrivateTmp=', 'PrivateDevices=', 'ProtectKernelTunables=',
  'ProtectKernelModules=', 'ProtectControlGroups=', 'RestrictNamespaces=~user', 'RestrictSUIDSGID=', 'LockPersonality=',
  'RestrictAddressFamilies=~AF_PACKET', 'RestrictAddressFamilies=~AF_NETLINK', 'SystemCallFilter=~@mount', 'SystemCallFilter=~@module',
  'SystemCallFilter=~@reboot', 'SystemCallArchitectures=', 'CapabilityBoundingSet=~CAP_SYS_ADMIN', 'CapabilityBoundingSet=~CAP_NET_ADMIN',
  'CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)'];

function analyze(args: string[]): { code: number | null; output: string } {
  const run = spawnSync('systemd-analyze', args, { encoding: 'utf8', cwd: DIR });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A unit's `Key=value` lines from its [Service] section (continued lines joined; repeatable keys give several). */
function serviceKeys(file: string): Array<[string, string]> {
  const section = /\[Service\]\n([\s\S]*?)(\n\[|$)/.exec(readFileSync(join(DIR, file), 'utf8'))![1]!.replace(/\\\n\s*/g, ' ');
  return section.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('systemd units (deploy/systemd)', { skip }, () => {
  it('has a unit for each service and a target that wants them all', () => {
    assert.deepEqual(SERVICES, ['asterisk-ai-agent-admin-ui.service', 'asterisk-ai-agent-engine.service', 'asterisk-ai-agent-local-ai.service']);
    const wants = /^Wants=(.*)$/m.exec(readFileSync(join(DIR, 'asterisk-ai-agent.target'), 'utf8'))?.[1]?.split(/\s+/).sort();
    assert.deepEqual(wants, SERVICES);
  });

  it('passes systemd-analyze verify without a single warning', () => {
    for (const unit of [...SERVICES, 'asterisk-ai-agent.target']) {
      const { code, output } = analyze(['verify', join(DIR, unit)]);
      assert.equal(code, 0, `${unit}: ${output}`);
      assert.equal(output.trim(), '', `${unit}: ${output}`);
    }
  });

  it(`asks for the sandbox the deployment promises, at an exposure of ${MAX_EXPOSURE} or less`, () => {
    for (const unit of SERVICES) {
      const { output } = analyze(['security', '--offline=yes', '--no-pager', join(DIR, unit)]);
      const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(output)?.[1]);
      assert.ok(exposure <= MAX_EXPOSURE, `${unit}: exposure ${exposure}\n${output}`);
      for (const setting of REQUIRED) {
        const line = output.split('\n').find((l) => l.slice(2).startsWith(setting) && /\s{2}/.test(l.slice(2 + setting.length, 2 + setting.length + 2)));
        assert.ok(line?.startsWith('✓'), `${unit}: ${setting} -> ${line ?? 'not reported'}`);
      }
    }
  });

  it('lets each service write only where its data lives, with no capability at all', () => {
    const writable = Object.fromEntries(SERVICES.map((unit) => {
      const keys = serviceKeys(unit);
      assert.deepEqual(keys.filter(([k]) => k === 'CapabilityBoundingSet').map(([, v]) => v), [''], `${unit}: CapabilityBoundingSet`);
      assert.deepEqual(keys.filter(([k]) => k === 'ProtectSystem').map(([, v]) => v), ['strict'], `${unit}: ProtectSystem`);
      return [unit, keys.filter(([k]) => /^(ReadWritePaths|StateDirectory|CacheDirectory|LogsDirectory|RuntimeDirectory)$/.test(k)).map(([k, v]) => `${k}=${v}`)];
    }));
    assert.deepEqual(writable, {
      'asterisk-ai-agent-admin-ui.service': ['StateDirectory=asterisk-ai-agent-admin', 'ReadWritePaths=/etc/asterisk-ai-agent'],
      'asterisk-ai-agent-engine.service': ['StateDirectory=asterisk-ai-agent-engine'],
      'asterisk-ai-agent-local-ai.service': [],
    });
  });

  it('starts entry points that exist in this checkout', () => {
    for (const unit of SERVICES) {
      const [exec] = serviceKeys(unit).filter(([k]) => k === 'ExecStart').map(([, v]) => v.split(/\s+/));
      assert.ok(exec && existsSync(join(REPO_ROOT, exec.at(-1)!)), `${unit}: ${exec?.join(' ')}`);
    }
  });
});
