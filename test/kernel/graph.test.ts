import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultParts, GraphError, parseConfig, planMesh, runCli, silentLogger, startMesh } from '@trellis/core';
import { extensionPoints } from '@trellis/plugin-sdk';
import {
  certsFixture,
  cycleAlpha,
  cycleBeta,
  greeterConsumer,
  greeterProvider,
  kernelOnlyParts,
  needsNobody,
  recordingProxy,
  recordingSource,
  undeclaredProvider,
} from './fixtures.ts';
import { events } from './plugins/events.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-graph-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  events.length = 0;
});

const certs = `  certificates: { use: ${certsFixture} }`;
const parse = (yaml: string) => parseConfig(yaml, join(dir, 'trellis.yaml'));

async function validate(yaml: string) {
  const file = join(dir, `v-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  let out = '';
  let err = '';
  const code = await runCli(['validate', '--config', file], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('trellis validate checks the component graph without starting anything', () => {
  it('reports a missing certificate provider at plugins.certificates', async () => {
    const r = await validate(`plugins:\n  proxies: [ { use: ${recordingProxy} } ]\n`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^TRELLIS_ERR_PROVIDER_MISSING plugins\.certificates: nothing provides "core\.certificateProvider", which core part "certificate-manager" requires/m);
    expect(events).toEqual([]);
  });

  it('reports two certificate providers for the single slot at the second one', async () => {
    const r = await validate(`plugins:\n  certificates:\n    - { use: ${certsFixture} }\n    - { use: ${certsFixture}, name: second }\n`);
    expect(r.code).toBe(2);
    expect(r.err).toContain('TRELLIS_ERR_EXTENSION_CONFLICT plugins.certificates[1]: "core.certificateProvider" takes exactly one provider');
  });

  it('reports two proxy backends claiming one node kind, with the path of the second', async () => {
    const r = await validate(`plugins:\n  proxies: [ { use: ${recordingProxy} }, { use: ${recordingProxy}, name: again } ]\n${certs}\n`);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(
      'TRELLIS_ERR_EXTENSION_CONFLICT plugins.proxies[1]: plugin "recording-proxy" (plugins.proxies[0]) and plugin "again" (plugins.proxies[1]) both claim node kind "test" of "core.proxyBackends"',
    );
  });

  it('reports the two built-in backends only when they claim the same kind (envoy + grpc is fine)', async () => {
    const ok = await validate(`plugins:\n  proxies: [ { use: envoy }, { use: grpc } ]\n${certs}\n`);
    expect(ok.code, ok.err).toBe(0);
    const clash = await validate(`plugins:\n  proxies: [ { use: envoy }, { use: envoy, name: envoy-two } ]\n${certs}\n`);
    expect(clash.err).toContain('TRELLIS_ERR_EXTENSION_CONFLICT plugins.proxies[1]:');
    expect(clash.err).toContain('node kind "sidecar"');
  });

  it('reports a dependency cycle with the plugins in it', async () => {
    const r = await validate(`plugins:\n  observability: [ { use: ${cycleAlpha} }, { use: ${cycleBeta} } ]\n${certs}\n`);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(
      'TRELLIS_ERR_PLUGIN_DEPENDENCY_CYCLE plugins.observability[0]: dependency cycle: plugin "cycle-alpha" (plugins.observability[0]) -> plugin "cycle-beta" (plugins.observability[1]) -> plugin "cycle-alpha" (plugins.observability[0])',
    );
  });

  it('reports a plugin needing a service nobody provides, at that plugin', async () => {
    const r = await validate(`plugins:\n  observability: [ { use: ${needsNobody} } ]\n${certs}\n`);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(
      'TRELLIS_ERR_PLUGIN_DEPENDENCY_MISSING plugins.observability[0]: plugin "needs-nobody" (plugins.observability[0]) needs service "acme.nobody" (deps.thing), which no configured plugin or core part provides',
    );
  });

  it('prints the start order of a valid graph: providers before the parts and plugins that need them', async () => {
    const r = await validate(`plugins:\n  sources: [ { use: ${greeterConsumer} } ]\n  proxies: [ { use: grpc } ]\n  observability: [ { use: ${greeterProvider} } ]\n${certs}\n`);
    expect(r.code, r.err).toBe(0);
    const order = /start order: (.*)\)$/m.exec(r.out)?.[1]?.split(' -> ') ?? [];
    expect(new Set(order)).toEqual(
      new Set(['fixture-certs', 'certificate-manager', 'identity-service', 'injector', 'grpc', 'greeter-provider', 'admin', 'greeter-consumer', 'sources-synced', 'xds-server']),
    );
    for (const [a, b] of [
      ['fixture-certs', 'certificate-manager'], // the manager consumes the provider slot
      ['certificate-manager', 'xds-server'], // the xDS server needs the manager
      ['certificate-manager', 'identity-service'], // ... and so do the identity service and the injector
      ['certificate-manager', 'injector'],
      ['grpc', 'xds-server'], // ... and every proxy backend
      ['greeter-consumer', 'xds-server'], // ... and every source
      ['greeter-consumer', 'sources-synced'], // the sync barrier's readiness follows the sources
      ['greeter-provider', 'greeter-consumer'], // deps.greeter
      ['greeter-provider', 'admin'], // the admin server mounts its route
    ])
      expect(order.indexOf(a as string), `${a} before ${b} in ${order.join(' -> ')}`).toBeLessThan(order.indexOf(b as string));
  });
});

describe('commands plugins ship', () => {
  it('runs `trellis <name> --config FILE` and lists it in the help of that file', async () => {
    const file = join(dir, 'cmd.yaml');
    await writeFile(file, `plugins:\n  observability: [ { use: ${greeterProvider} } ]\n${certs}\n`);
    const io = () => {
      const o = { out: '', err: '' };
      return { o, io: { out: (t: string) => void (o.out += t), err: (t: string) => void (o.err += t) } };
    };
    const a = io();
    expect(await runCli(['greet', 'ops', '--config', file], a.io)).toBe(0);
    expect(a.o.out).toBe('hello, ops\n');
    const b = io();
    expect(await runCli(['greet', '--config', file], b.io)).toBe(2);
    const c = io();
    expect(await runCli(['--help', '--config', file], c.io)).toBe(0);
    expect(c.o.out).toMatch(/Commands of the configured plugins:\n\s+greet\s+Greets whoever is named \(greeter-provider\)/);
    const d = io();
    expect(await runCli(['greet', 'ops'], d.io)).toBe(2); // without --config no plugin is loaded
    expect(d.o.err).toContain('unknown command "greet ops"');
  });

  it('reports two plugins shipping one command name', async () => {
    const r = await validate(`plugins:\n  observability: [ { use: ${greeterProvider} }, { use: ${greeterProvider}, name: twin } ]\n${certs}\n`);
    expect(r.code).toBe(2);
    expect(r.err).toContain('TRELLIS_ERR_EXTENSION_CONFLICT plugins.observability[1]: plugin "greeter-provider" (plugins.observability[0]) and plugin "twin" (plugins.observability[1]) both claim command "greet" of "core.cliCommands"');
    expect(r.err).toContain('TRELLIS_ERR_SERVICE_ALREADY_REGISTERED plugins.observability[1]: plugin "twin" (plugins.observability[1]) provides service "acme.greeter"');
  });
});

describe('starting the graph', () => {
  it('starts a provider before the plugin that needs it (whatever the config order) and stops in reverse', async () => {
    const cfg = await parse(
      `plugins:\n  sources: [ { use: ${greeterConsumer} }, { use: ${recordingSource}, config: { id: plain } } ]\n  proxies: [ { use: ${recordingProxy} } ]\n  observability: [ { use: ${greeterProvider} } ]\n${certs}\n`,
    );
    const mesh = await startMesh({ config: cfg, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: '127.0.0.1:0' });
    try {
      // Listed first, the consumer waits for its provider; the rest keep the config's order.
      expect(mesh.startOrder).toEqual(['fixture-certs', 'recording-source', 'recording-proxy', 'greeter-provider', 'admin', 'greeter-consumer']);
      expect(events.slice(0, 5)).toEqual(['start:fixture-certs', 'start:plain', 'start:recording-proxy', 'start:greeter-provider', 'start:greeter-consumer (hello, consumer)']);
      // Contributions reach the admin server: the plugin's debug page and its route under /plugins/<name>/.
      const page = (await (await fetch(`${mesh.adminUrl}/debug/greetings`)).json()) as { greeted: number };
      expect(page).toEqual({ greeted: 1 });
      const route = await fetch(`${mesh.adminUrl}/plugins/greeter-provider/hello/ops`);
      expect(route.status).toBe(200);
      expect(await route.json()).toEqual({ text: 'hello, ops' });
      // Typed reads of the slots: the proxy backend is there by its node kind.
      expect(mesh.container.all(extensionPoints.proxyBackends).map((p) => p.nodeKind)).toEqual(['test']);
      expect(mesh.container.contributions(extensionPoints.exporters).map((c) => c.origin)).toEqual(['plugins.observability[0]']);
    } finally {
      await mesh.stop();
    }
    expect(events.slice(5)).toEqual(['stop:greeter-consumer', 'stop:greeter-provider', 'stop:recording-proxy', 'stop:plain', 'stop:fixture-certs']);
  });

  it("gives each plugin its own logger through its child container (the core token resolves to the plugin's)", async () => {
    const lines: string[] = [];
    const cfg = await parse(`plugins:\n  sources: [ { use: ${greeterConsumer} } ]\n  observability: [ { use: ${greeterProvider} } ]\n${certs}\n`);
    const { createLogger } = await import('@trellis/core');
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } });
    const mesh = await startMesh({ config: cfg, parts: kernelOnlyParts, logger, adminAddress: false });
    await mesh.stop();
    const greeted = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'greeted');
    expect(greeted).toMatchObject({ plugin: 'greeter-provider', who: 'consumer' });
  });

  it('refuses to start a graph validate would refuse, before creating any plugin', async () => {
    const cfg = await parse(`plugins:\n  observability: [ { use: ${cycleAlpha} }, { use: ${cycleBeta} } ]\n${certs}\n`);
    const err = await startMesh({ config: cfg, parts: defaultParts, logger: silentLogger(), adminAddress: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).problems.map((p) => p.code)).toEqual(['TRELLIS_ERR_PLUGIN_DEPENDENCY_CYCLE']);
    expect(events).toEqual([]);
  });

  it('refuses a service provided without being declared, and cleans up what started', async () => {
    const cfg = await parse(`plugins:\n  sources: [ { use: ${recordingSource}, config: { id: a } } ]\n  observability: [ { use: ${undeclaredProvider} } ]\n${certs}\n`);
    await expect(startMesh({ config: cfg, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: false })).rejects.toMatchObject({
      code: 'TRELLIS_ERR_PLUGIN_UNDECLARED',
      message: expect.stringContaining('plugin "undeclared-provider" (plugins.observability[0]) provides service "acme.greeter" without declaring it'),
    });
    expect(events).toEqual(['start:fixture-certs', 'start:a', 'stop:a', 'stop:fixture-certs']);
  });

  it('cleans up a failed start within shutdown.grace even when a started plugin hangs in stop', async () => {
    const cfg = await parse(
      `plugins:\n  sources:\n    - { use: ${recordingSource}, name: hangs, config: { id: hangs, slowStopMs: 10000 } }\n    - { use: ${recordingSource}, name: broken, config: { id: broken, failStart: true } }\n${certs}\nshutdown: { grace: 300ms }\n`,
    );
    const t0 = Date.now();
    await expect(startMesh({ config: cfg, parts: kernelOnlyParts, logger: silentLogger(), adminAddress: false })).rejects.toMatchObject({ code: 'TRELLIS_ERR_PLUGIN_START_FAILED' });
    expect(Date.now() - t0).toBeLessThan(5000);
    // Past the grace, the remaining stops are still called, just not awaited.
    expect(events).toEqual(['start:fixture-certs', 'start:hangs', 'start:broken', 'stop:hangs', 'stop:fixture-certs']);
  });

  it('starts a plugin contributing policy kinds before the sources that deliver its objects', async () => {
    const { fileURLToPath } = await import('node:url');
    const policy = fileURLToPath(new URL('./plugins/rate-limit-policy.ts', import.meta.url));
    const cfg = await parse(`plugins:\n  sources: [ { use: ${recordingSource}, config: { id: a } } ]\n  observability: [ { use: ${policy} } ]\n${certs}\n`);
    const order = planMesh(cfg, defaultParts).order.map((n) => n.name);
    expect(order.indexOf('rate-limit-policy')).toBeLessThan(order.indexOf('recording-source'));
  });

  it('plans the default parts from their declarations alone', async () => {
    const cfg = await parse(`plugins:\n  sources: [ { use: ${recordingSource}, config: { id: a } } ]\n  proxies: [ { use: envoy } ]\n${certs}\n`);
    const plan = planMesh(cfg, defaultParts);
    expect(plan.problems).toEqual([]);
    expect(plan.order.map((n) => n.name)).toEqual(['admin', 'fixture-certs', 'certificate-manager', 'recording-source', 'sources-synced', 'identity-service', 'injector', 'envoy', 'xds-server']);
  });
});
