import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, runCli, startMesh, silentLogger, effectiveConfig } from '@trellis/core';
import { certsFixture, futurePlugin, kernelOnlyParts, recordingProxy, recordingSource } from './fixtures.ts';
import { events } from './plugins/events.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-cfg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  events.length = 0;
});

const certs = `  certificates: { use: ${certsFixture} }`;

async function problems(yaml: string, env: NodeJS.ProcessEnv = {}) {
  try {
    await parseConfig(yaml, join(dir, 'trellis.yaml'), { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => ({ code: p.code, path: p.path, message: p.message }));
    throw err;
  }
  return [];
}

describe('config validation', () => {
  it('rejects an unknown key with its path', async () => {
    const p = await problems(`plugins:\n${certs}\nxds:\n  adress: 0.0.0.0:15128\n`);
    expect(p).toEqual([expect.objectContaining({ code: 'TRELLIS_ERR_CONFIG_INVALID', path: 'xds.adress', message: expect.stringContaining('unknown key') })]);
  });

  it('rejects a wrong type with its path', async () => {
    const p = await problems(`plugins:\n${certs}\nxds:\n  maxStreams: many\n`);
    expect(p).toEqual([{ code: 'TRELLIS_ERR_CONFIG_INVALID', path: 'xds.maxStreams', message: 'must be a number, got string' }]);
  });

  it('reports a missing plugin with its path and code', async () => {
    const p = await problems(`plugins:\n  sources: [ { use: no-such-plugin } ]\n${certs}\n`);
    expect(p).toEqual([expect.objectContaining({ code: 'TRELLIS_ERR_PLUGIN_NOT_FOUND', path: 'plugins.sources[0].use' })]);
    expect(p[0]?.message).toContain('"no-such-plugin" not found');
  });

  it('reports a plugin that needs another core version', async () => {
    const p = await problems(`plugins:\n  sources: [ { use: ${futurePlugin} } ]\n${certs}\n`);
    expect(p).toEqual([expect.objectContaining({ code: 'TRELLIS_ERR_PLUGIN_VERSION_MISMATCH', path: 'plugins.sources[0].use' })]);
    expect(p[0]?.message).toMatch(/requires @trellis\/core \^9\.0\.0, but this is 0\.1\.0/);
  });

  it("validates a plugin's own config block against its schema, with the full path", async () => {
    const p = await problems(`plugins:\n  sources: [ { use: ${recordingSource}, config: { id: 1, extra: true } } ]\n${certs}\n`);
    expect(p).toEqual([
      { code: 'TRELLIS_ERR_PLUGIN_CONFIG_INVALID', path: 'plugins.sources[0].config.extra', message: expect.stringContaining('unknown key') },
      { code: 'TRELLIS_ERR_PLUGIN_CONFIG_INVALID', path: 'plugins.sources[0].config.id', message: 'must be a string, got number' },
    ]);
  });

  it('rejects a plugin listed under the wrong kind', async () => {
    const p = await problems(`plugins:\n  proxies: [ { use: ${recordingSource} } ]\n${certs}\n`);
    expect(p).toEqual([expect.objectContaining({ code: 'TRELLIS_ERR_PLUGIN_KIND_MISMATCH', path: 'plugins.proxies[0].use' })]);
  });

  it('interpolates environment variables and redacts them in the effective config', async () => {
    const yaml = `mesh: { name: '\${MESH_NAME}' }\nplugins:\n  sources: [ { use: ${recordingSource}, config: { id: '\${SOURCE_ID}' } } ]\n${certs}\n`;
    const cfg = await parseConfig(yaml, join(dir, 'x.yaml'), { env: { MESH_NAME: 'prod', SOURCE_ID: 's3cr3t' } });
    expect(cfg.settings.mesh.name).toBe('prod');
    expect(cfg.plugins[0]?.config).toEqual({ id: 's3cr3t', failStart: false, slowStopMs: 0 });
    const printed = JSON.stringify(effectiveConfig(cfg));
    expect(printed).not.toContain('s3cr3t');
    expect(printed).not.toContain('prod');
    expect(printed).toContain('<redacted>');
    expect(await problems(`mesh: { name: '\${NOPE}' }\nplugins:\n${certs}\n`)).toEqual([
      { code: 'TRELLIS_ERR_CONFIG_INVALID', path: 'mesh.name', message: 'environment variable NOPE is not set' },
    ]);
  });
});

describe('lifecycle', () => {
  const config = (sources: string) =>
    parseConfig(
      `plugins:\n  sources:\n${sources}\n  proxies: [ { use: ${recordingProxy} } ]\n${certs}\nshutdown: { grace: 300ms }\n`,
      join(dir, 'life.yaml'),
    );

  it('starts plugins in dependency order and stops them in reverse', async () => {
    const cfg = await config(`    - { use: ${recordingSource}, name: a, config: { id: a } }\n    - { use: ${recordingSource}, name: b, config: { id: b } }`);
    const mesh = await startMesh({ config: cfg, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: false });
    expect(mesh.ready()).toBe(true);
    await mesh.stop();
    await mesh.stop(); // idempotent
    expect(events).toEqual([
      'start:fixture-certs',
      'start:a',
      'start:b',
      'start:recording-proxy',
      'stop:recording-proxy',
      'stop:b',
      'stop:a',
      'stop:fixture-certs',
    ]);
  });

  it('fails startup with a clear message when a plugin throws in start, stopping what already started', async () => {
    const cfg = await config(`    - { use: ${recordingSource}, name: a, config: { id: a } }\n    - { use: ${recordingSource}, name: broken, config: { id: broken, failStart: true } }`);
    await expect(startMesh({ config: cfg, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: false })).rejects.toThrow(
      /plugin "broken" \(plugins\.sources\[1\]\) failed to start: the upstream API refused the connection/,
    );
    expect(events).toEqual(['start:fixture-certs', 'start:a', 'start:broken', 'stop:a', 'stop:fixture-certs']);
  });

  it('bounds shutdown by the grace period when a plugin hangs in stop', async () => {
    const cfg = await config(`    - { use: ${recordingSource}, name: slow, config: { id: slow, slowStopMs: 5000 } }`);
    const mesh = await startMesh({ config: cfg, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: false });
    const t0 = Date.now();
    await mesh.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(events.slice(-3)).toEqual(['stop:recording-proxy', 'stop:slow', 'stop:fixture-certs']);
  });
});

describe('trellis validate', () => {
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };

  it('exits 0 for a valid file and 2 listing every error otherwise', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(good, `plugins:\n${certs}\n`);
    expect((await run(['validate', '--config', good])).code).toBe(0);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, `plugins:\n  sources: [ { use: nope } ]\n${certs}\nadmin: { address: nowhere, extra: 1 }\n`);
    const r = await run(['validate', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('TRELLIS_ERR_CONFIG_INVALID admin.address: must be host:port');
    expect(r.err).toContain('TRELLIS_ERR_CONFIG_INVALID admin.extra: unknown key');
  });

  it('has --help on every command', async () => {
    for (const cmd of [['controller'], ['validate'], ['plugins'], ['config', 'print'], ['version']]) {
      const r = await run([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: trellis ${cmd.join(' ')}`);
    }
  });

  it('loads a config file from disk and reports a missing one', async () => {
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'TRELLIS_ERR_CONFIG_NOT_FOUND' });
  });
});
