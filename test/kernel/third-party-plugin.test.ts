import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, startMesh, silentLogger, type Mesh } from '@trellis/core';
import { runPluginConformance, type RecordingSink } from '@trellis/plugin-sdk/testing';
import hello from 'trellis-plugin-hello';
import { certsFixture, kernelOnlyParts } from './fixtures.ts';

describe('a third-party plugin package', () => {
  let mesh: Mesh | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await mesh?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes the SDK lifecycle conformance run', async () => {
    const report = await runPluginConformance(hello, { config: { namespaces: ['shop', 'bank'] } });
    expect(report.steps).toEqual(['config', 'create', 'start', 'ready', 'stop', 'stop again']);
    expect([...report.sink.objects.keys()].sort()).toEqual(['/Namespace//bank', '/Namespace//shop']);
  });

  it('is loaded by package name from a config file and runs through its lifecycle', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-3p-'));
    const file = join(dir, 'trellis.yaml');
    await writeFile(
      file,
      [
        'plugins:',
        '  sources:',
        '    - use: trellis-plugin-hello',
        '      config: { namespaces: [shop] }',
        `  certificates: { use: ${certsFixture} }`,
        '',
      ].join('\n'),
    );
    const config = await loadConfig(file);
    expect(config.plugins.map((p) => [p.instanceName, p.kind, p.definition.version])).toEqual([
      ['hello', 'source', '1.0.0'],
      ['fixture-certs', 'certificates', '0.0.1'],
    ]);
    mesh = await startMesh({ config, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: '127.0.0.1:0' });
    const sink = mesh.sink('hello') as RecordingSink;
    expect(mesh.ready()).toBe(true);
    expect([...sink.objects.keys()]).toEqual(['/Namespace//shop']);
    expect(await mesh.metrics.exposition()).toContain('trellis_hello_namespaces_applied_total 1');
    await mesh.stop();
    expect(mesh.status().find((s) => s.name === 'hello')?.state).toBe('stopped');
    mesh = undefined;
  });
});
