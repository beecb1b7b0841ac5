import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, effectiveConfig, parseConfig, runCli } from '@trellis/core';

// Configs `trellis validate` used to pass and the controller then died on (hardening issue, item 14).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-checks-'));
});
afterAll(async () => {
  await chmod(join(dir, 'locked'), 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const selfsigned = (stateDir = './ca') => `plugins:\n  certificates: { use: selfsigned, config: { stateDir: ${stateDir} } }\n`;

async function problems(yaml: string): Promise<string[]> {
  try {
    await parseConfig(yaml, join(dir, 'trellis.yaml'), { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.code} ${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

async function validate(yaml: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, yaml);
  let out = '';
  let err = '';
  const code = await runCli(['validate', '--config', file], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('trellis validate catches what the controller would die on', () => {
  it('rejects a port above 65535', async () => {
    expect(await problems(`${selfsigned()}xds: { address: 0.0.0.0:70000 }\n`)).toEqual(['TRELLIS_ERR_CONFIG_INVALID xds.address: port 70000 is out of range (0-65535)']);
  });

  it('rejects an invalid IP address', async () => {
    expect(await problems(`${selfsigned()}admin: { address: 300.1.1.1:9091 }\nxds: { plaintextAddress: '[1::2::3]:15129' }\n`)).toEqual([
      'TRELLIS_ERR_CONFIG_INVALID xds.plaintextAddress: "1::2::3" is not an IPv6 address',
      'TRELLIS_ERR_CONFIG_INVALID admin.address: "300.1.1.1" is not an IPv4 address',
    ]);
  });

  it('rejects admin and xDS on one port', async () => {
    expect(await problems(`${selfsigned()}xds: { address: 0.0.0.0:9091 }\n`)).toEqual(['TRELLIS_ERR_CONFIG_INVALID admin.address: port 9091 is already used by xds.address (0.0.0.0:9091)']);
    expect(await problems(`${selfsigned()}xds: { address: 127.0.0.1:15128, plaintextAddress: 127.0.0.1:15128 }\n`)).toEqual([
      'TRELLIS_ERR_CONFIG_INVALID xds.plaintextAddress: port 15128 is already used by xds.address (127.0.0.1:15128)',
    ]);
    // Port 0 picks a free port each time, and different hosts may share a port.
    expect(await problems(`${selfsigned()}xds: { address: 127.0.0.1:0, plaintextAddress: 127.0.0.2:15128 }\nadmin: { address: 127.0.0.1:0 }\n`)).toEqual([]);
  });

  it("rejects a selfsigned stateDir the CA cannot be kept in (the plugin's validateConfig)", async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    expect(await problems(selfsigned('./a-file'))).toEqual([`TRELLIS_ERR_PLUGIN_CONFIG_INVALID plugins.certificates.config.stateDir: ${join(dir, 'a-file')} exists and is not a directory`]);
    expect(await problems(selfsigned('./a-file/ca'))).toEqual([
      `TRELLIS_ERR_PLUGIN_CONFIG_INVALID plugins.certificates.config.stateDir: ${join(dir, 'a-file/ca')} cannot be created: ${join(dir, 'a-file')} is not a directory`,
    ]);
    // Missing but creatable (its parent exists and is writable), or existing and usable: fine.
    expect(await problems(selfsigned('./new/deeper/ca'))).toEqual([]);
    await mkdir(join(dir, 'ca'));
    expect(await problems(selfsigned('./ca'))).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('rejects an unreadable stateDir (permissions do not bind root)', async () => {
    await mkdir(join(dir, 'locked'));
    await chmod(join(dir, 'locked'), 0o000);
    expect(await problems(selfsigned('./locked'))).toEqual([
      `TRELLIS_ERR_PLUGIN_CONFIG_INVALID plugins.certificates.config.stateDir: ${join(dir, 'locked')} is not readable and writable (EACCES)`,
    ]);
  });

  it('requires a unit on shutdown.grace (10 is not silently 10 ms)', async () => {
    const r = await validate(`${selfsigned()}shutdown: { grace: 10 }\n`, 'grace.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toBe('TRELLIS_ERR_CONFIG_INVALID shutdown.grace: must be a duration with a unit, e.g. 10ms or 10s (a bare number is ambiguous)\n');
  });

  it('warns, without failing, when plaintext ADS listens beyond loopback', async () => {
    const r = await validate(`${selfsigned()}xds: { plaintextAddress: 0.0.0.0:15129 }\n`, 'plain.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain('valid');
    expect(r.err).toMatch(/^warning TRELLIS_WARN_PLAINTEXT_NOT_LOOPBACK xds\.plaintextAddress: plaintext ADS on 0\.0\.0\.0:15129 is reachable beyond this host.*\n$/);
    const quiet = await validate(`${selfsigned()}xds: { plaintextAddress: 127.0.0.1:15129 }\n`, 'loopback.yaml');
    expect(quiet).toMatchObject({ code: 0, err: '' });
  });

  it('config print writes durations with their unit, so its output reads back as the same config', async () => {
    const file = join(dir, 'trellis.yaml');
    const cfg = await parseConfig(`${selfsigned()}xds: { debounce: { quiet: 20ms } }\nshutdown: { grace: 2m }\n`, file, { env: {} });
    const printed = effectiveConfig(cfg);
    expect(printed).toMatchObject({ xds: { debounce: { quiet: '20ms', max: '250ms' } }, shutdown: { grace: '2m' }, certificates: { validity: '1d' } });
    const again = await parseConfig(stringify(printed), file, { env: {} });
    const { plugins: _a, ...core } = cfg.settings;
    const { plugins: _b, ...coreAgain } = again.settings;
    expect(coreAgain).toEqual(core);
    expect(again.plugins[0]?.config).toEqual(cfg.plugins[0]?.config);
  });
});
