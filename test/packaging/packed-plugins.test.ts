/**
 * The published packages, proven from outside the workspace: `npm pack` every public package, install the
 * tarballs in a fresh project under the OS temp directory, write a third-party source plugin and an
 * observability plugin there in TypeScript, type-check and compile them against the packed `.d.ts` only, run
 * the SDK conformance kit on them, and start the installed `trellis` command on a config that loads them by
 * package name. Slow (two `npm install`s, ~1-2 min); third-party dependencies come from the npm registry/cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(realpathSync(tmpdir()), 'trellis-packed-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');

/** The environment of the workspace's npm (npm_* variables, the source condition) must not leak into the child. */
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replace('--conditions=@trellis/source', '').trim() }).filter(
    ([k]) => !k.toLowerCase().startsWith('npm_'),
  ),
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs = 300_000): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: readonly string[], cwd: string): Promise<Run> {
  const r = await run(cmd, args, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const npm = (args: readonly string[], cwd: string): Promise<Run> => ok('npm', args, cwd);

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The workspace's public (non-private) packages: directory and package.json. */
function publicPackages(): { dir: string; name: string; version: string }[] {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = rootPkg.workspaces.flatMap((w) =>
    w.endsWith('/*') ? readdirSync(join(root, w.slice(0, -2))).map((d) => `${w.slice(0, -2)}/${d}`) : [w],
  );
  return dirs
    .filter((d) => existsSync(join(root, d, 'package.json')))
    .map((d) => ({ dir: d, ...(JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean }) }))
    .filter((p) => !(p as { private?: boolean }).private);
}

const pluginTsconfig = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    declaration: true,
    // The packed .d.ts are checked too: they must be complete and consistent on their own.
    skipLibCheck: false,
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

const pluginPackage = (name: string, description: string) => ({
  name,
  version: '1.0.0',
  description,
  type: 'module',
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  files: ['dist'],
  dependencies: { '@trellis/plugin-sdk': '0.1.0' },
});

const ACME_SOURCE = `/** A third-party source: a fixed mesh for one namespace (two service accounts, web may call api). */
import { definePlugin, s, type KubeObject, type PluginKind } from '@trellis/plugin-sdk';

// @ts-expect-error the SDK's types know the plugin kinds (fails to compile if the packed .d.ts were not in force)
export const notAKind: PluginKind = 'telemetry';

export function acmeObjects(namespace: string): KubeObject[] {
  const meta = (name: string) => ({ name, namespace });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('api') },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('web') },
    {
      apiVersion: 'specs.smi-spec.io/v1alpha4',
      kind: 'HTTPRouteGroup',
      metadata: meta('api-routes'),
      spec: { matches: [{ name: 'everything', pathRegex: '/.*', methods: ['GET'] }] },
    },
    {
      apiVersion: 'access.smi-spec.io/v1alpha3',
      kind: 'TrafficTarget',
      metadata: meta('api'),
      spec: {
        destination: { kind: 'ServiceAccount', name: 'api', namespace },
        rules: [{ kind: 'HTTPRouteGroup', name: 'api-routes', matches: ['everything'] }],
        sources: [{ kind: 'ServiceAccount', name: 'web', namespace }],
      },
    },
  ];
}

export default definePlugin({
  name: 'acme-source',
  kind: 'source',
  version: '1.0.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: 'A fixed mesh for one namespace.',
  configSchema: s.object({ namespace: s.string() }),
  create({ config, sink }) {
    let synced = false;
    return {
      start() {
        sink.replaceAll(acmeObjects(config.namespace).map((obj) => ({ obj })));
        synced = true;
      },
      stop() {
        synced = false;
      },
      readiness: () => (synced ? { ready: true } : { ready: false, reason: 'not started' }),
    };
  },
});
`;

const ACME_OBS = `/** A third-party observability exporter: writes the core's metrics exposition to a file, periodically. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { coreServices, definePlugin, s } from '@trellis/plugin-sdk';

export default definePlugin({
  name: 'acme-obs',
  kind: 'observability',
  version: '1.0.0',
  coreRange: '^0.1.0',
  stability: 'alpha',
  description: 'Writes the metrics exposition to a file every 200 ms.',
  configSchema: s.object({ file: s.string() }),
  deps: { metrics: coreServices.metrics },
  create({ config, deps, baseDir }) {
    const file = resolve(baseDir, config.file);
    let timer: NodeJS.Timeout | undefined;
    const flush = async (): Promise<void> => writeFileSync(file, await deps.metrics.exposition());
    return {
      async start() {
        await flush();
        timer = setInterval(() => void flush(), 200);
      },
      stop() {
        clearInterval(timer);
        timer = undefined;
      },
      readiness: () => (timer ? { ready: true } : { ready: false, reason: 'not started' }),
    };
  },
});
`;

const CONFORMANCE = `import { runPluginConformance } from '@trellis/plugin-sdk/testing';
import source from 'trellis-plugin-acme-source';
import obs from 'trellis-plugin-acme-obs';

const s = await runPluginConformance(source, { config: { namespace: 'acme' } });
const o = await runPluginConformance(obs, { config: { file: 'conformance.prom' } });
console.log(JSON.stringify({ source: { steps: s.steps, objects: [...s.sink.objects.keys()].sort() }, obs: { steps: o.steps } }));
`;

const CONFIG = `mesh: { name: acme, trustDomain: cluster.local }
plugins:
  sources:
    - use: trellis-plugin-acme-source
      config: { namespace: acme }
  proxies:
    - use: envoy
  certificates:
    use: selfsigned
    config: { stateDir: ./ca }
  observability:
    - use: trellis-plugin-acme-obs
      config: { file: ./metrics.prom }
xds: { address: 127.0.0.1:0, plaintextAddress: 127.0.0.1:0 }
admin: { address: 127.0.0.1:0 }
`;

interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}
let packed: Packed[] = [];

beforeAll(async () => {
  expect(relative(root, work).startsWith('..')).toBe(true); // really outside the workspace
  mkdirSync(tarballs);
  const pkgs = publicPackages();
  const r = await npm(['pack', ...pkgs.flatMap((p) => ['-w', p.dir]), '--pack-destination', tarballs, '--json'], root);
  packed = JSON.parse(r.stdout) as Packed[];

  const deps = Object.fromEntries(packed.map((p) => [p.name, `file:../tarballs/${p.filename}`]));
  const typesNode = (JSON.parse(readFileSync(join(root, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
  write(join(app, 'package.json'), json({ name: 'acme-mesh', private: true, type: 'module', dependencies: deps, devDependencies: { '@types/node': typesNode } }));
  await npm(['install', '--no-audit', '--no-fund'], app);

  for (const [dir, name, description, source] of [
    ['acme-source', 'trellis-plugin-acme-source', 'A fixed mesh for one namespace.', ACME_SOURCE],
    ['acme-obs', 'trellis-plugin-acme-obs', 'Writes the metrics exposition to a file.', ACME_OBS],
  ] as const) {
    write(join(app, 'plugins', dir, 'package.json'), json(pluginPackage(name, description)));
    write(join(app, 'plugins', dir, 'tsconfig.json'), json(pluginTsconfig));
    write(join(app, 'plugins', dir, 'src/index.ts'), source);
  }
  write(join(app, 'conformance.mjs'), CONFORMANCE);
  write(join(app, 'trellis.yaml'), CONFIG);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed packages, used from outside the workspace', () => {
  it('tarballs hold the build only: no sources, tests, build info or keys', async () => {
    expect(packed.map((p) => p.name).sort()).toEqual(publicPackages().map((p) => p.name).sort());
    for (const p of packed) {
      const paths = p.files.map((f) => f.path);
      expect(paths, p.name).toContain('dist/index.js');
      expect(paths, p.name).toContain('dist/index.d.ts');
      const stray = paths.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|json)|dist\/assets\/[\w.-]+\.(css|html))$/.test(f) || /\.test\.|test-(builders|fakes)/.test(f));
      expect(stray, p.name).toEqual([]);
      const out = join(work, 'unpacked', p.filename);
      mkdirSync(out, { recursive: true });
      await ok('tar', ['-xzf', join(tarballs, p.filename), '-C', out], work);
      for (const f of filesUnder(out)) {
        expect(readFileSync(f, 'utf8'), relative(out, f)).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{16}/);
      }
    }
    const core = packed.find((p) => p.name === '@trellis/core');
    const corePkg = JSON.parse(readFileSync(join(app, 'node_modules/@trellis/core/package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    expect(core?.files.map((f) => f.path)).toContain(corePkg.bin.trellis?.replace(/^\.\//, ''));
    // The built-in plugins are packages the core depends on.
    for (const builtin of ['source-file', 'proxy-envoy', 'proxy-grpc', 'certs-selfsigned', 'certs-vault']) {
      expect(corePkg.dependencies).toHaveProperty(`@trellis/plugin-${builtin}`);
    }
  });

  it('type-checks and compiles third-party plugins against the packed .d.ts, then installs them as packages', async () => {
    for (const dir of ['acme-source', 'acme-obs']) {
      const r = await ok(process.execPath, [tsc, '-p', join(app, 'plugins', dir, 'tsconfig.json'), '--listFiles'], app);
      const listed = r.stdout.split('\n').filter(Boolean);
      expect(listed).toContain(join(app, 'node_modules/@trellis/plugin-sdk/dist/index.d.ts'));
      // Nothing from the workspace but the compiler's own lib files.
      expect(listed.filter((f) => f.startsWith(root + sep) && !f.startsWith(join(root, 'node_modules/typescript/lib') + sep))).toEqual([]);
      expect(existsSync(join(app, 'plugins', dir, 'dist/index.js'))).toBe(true);
    }
    const acme = join(work, 'acme-tarballs');
    mkdirSync(acme);
    const names: string[] = [];
    for (const dir of ['acme-source', 'acme-obs']) {
      const r = await npm(['pack', '--pack-destination', acme, '--json'], join(app, 'plugins', dir));
      names.push(...(JSON.parse(r.stdout) as Packed[]).map((p) => join(acme, p.filename)));
    }
    await npm(['install', '--no-audit', '--no-fund', ...names], app);
    // One SDK for everyone: the plugins share the core's copy.
    expect(existsSync(join(app, 'node_modules/trellis-plugin-acme-source/node_modules'))).toBe(false);
  }, 300_000);

  it('passes the SDK conformance kit, run from the installed packages', async () => {
    const r = await ok(process.execPath, [join(app, 'conformance.mjs')], app);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { source: { steps: string[]; objects: string[] }; obs: { steps: string[] } };
    expect(report.source.steps).toEqual(['config', 'create', 'start', 'ready', 'stop', 'stop again']);
    expect(report.obs.steps).toEqual(['config', 'create', 'start', 'ready', 'stop', 'stop again']);
    expect(report.source.objects).toEqual([
      '/Namespace//acme',
      '/ServiceAccount/acme/api',
      '/ServiceAccount/acme/web',
      'access.smi-spec.io/TrafficTarget/acme/api',
      'specs.smi-spec.io/HTTPRouteGroup/acme/api-routes',
    ]);
  }, 120_000);

  it('the installed trellis command lists them and a controller loads them by package name', async () => {
    const bin = join(app, 'node_modules/.bin/trellis');
    expect(realpathSync(bin).startsWith(join(app, 'node_modules/@trellis/core/dist') + sep)).toBe(true);
    const listed = await ok(process.execPath, [bin, 'plugins', '-o', 'table'], app);
    expect(listed.stdout).toMatch(/trellis-plugin-acme-source\s+source\s+1\.0\.0/);
    expect(listed.stdout).toMatch(/trellis-plugin-acme-obs\s+observability\s+1\.0\.0/);

    let child: ChildProcess | undefined;
    let stderr = '';
    try {
      child = spawn(process.execPath, [bin, 'controller', '--config', 'trellis.yaml'], { cwd: app, env: cleanEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((res) => child?.on('exit', (code) => res(code)));
      const adminUrl = await new Promise<string>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`controller did not start:\n${stderr}`)), 60_000);
        const check = (): void => {
          const m = /admin (http:\/\/[\d.]+:\d+)/.exec(stderr);
          if (m?.[1]) {
            clearTimeout(t);
            res(m[1]);
          } else if (child?.exitCode !== null) {
            clearTimeout(t);
            rej(new Error(`controller exited ${child?.exitCode}:\n${stderr}`));
          } else setTimeout(check, 50);
        };
        check();
      });
      let status = 0;
      for (let i = 0; i < 300 && status !== 200; i++) {
        status = (await fetch(`${adminUrl}/readyz`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, stderr).toBe(200);
      const get = async <T>(path: string): Promise<T> => (await (await fetch(`${adminUrl}${path}`)).json()) as T;

      const plugins = await get<{ name: string; kind: string; use: string; version: string; state?: string }[]>('/debug/plugins');
      expect(plugins.filter((p) => p.use.startsWith('trellis-plugin-acme')).map((p) => [p.name, p.kind, p.use, p.version, p.state])).toEqual([
        ['acme-source', 'source', 'trellis-plugin-acme-source', '1.0.0', 'running'],
        ['acme-obs', 'observability', 'trellis-plugin-acme-obs', '1.0.0', 'running'],
      ]);
      // The source's objects reached the store and the catalog.
      expect(await get<string[]>('/debug/views')).toEqual(['acme/api', 'acme/web']);
      const policies = await get<{ policies: { kind: string; namespace: string; name: string; status: string }[] }>('/debug/policies');
      expect(policies.policies.filter((p) => p.namespace === 'acme').map((p) => [p.kind, p.name, p.status])).toEqual(
        expect.arrayContaining([['TrafficTarget', 'api', 'accepted']]),
      );
      // The exporter runs inside the controller and reads the core's metrics.
      let exposition = '';
      for (let i = 0; i < 100 && !/^trellis_/m.test(exposition); i++) {
        exposition = existsSync(join(app, 'metrics.prom')) ? readFileSync(join(app, 'metrics.prom'), 'utf8') : '';
        if (!/^trellis_/m.test(exposition)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(exposition).toMatch(/^trellis_/m);
      // The mesh page ships inside @trellis/ui's tarball and the installed controller serves it.
      const page = await fetch(`${adminUrl}/ui/app.js`);
      expect([page.status, (await page.text()).length > 100_000]).toEqual([200, true]);

      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      child = undefined;
    } finally {
      child?.kill('SIGKILL');
    }
  }, 180_000);
});
