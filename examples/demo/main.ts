/**
 * `npm run demo`: the OSM bookstore demo on one machine. Starts the controller on config/local.yaml (the file
 * source watching examples/bookstore), writes each workload's bootstrap with `trellis bootstrap grpc`, runs
 * the workloads as real proxyless gRPC processes, and prints calls per second per edge, allowed vs denied and
 * the split ratio. Edit examples/bookstore/*.yaml while it runs and the picture changes. Ctrl-C stops it all.
 *   npm run demo -- [--config FILE] [--duration SECONDS] [--rate CALLS_PER_SECOND]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, runCli } from '@trellis/core';
import type { EdgeReport } from './services.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: { config: { type: 'string', default: join(root, 'config/local.yaml') }, duration: { type: 'string', default: '0' }, rate: { type: 'string', default: '10' } },
});
const configFile = resolve(values.config);
const durationS = Number(values.duration);
const rate = values.rate;

const STORE = 'xds:///bookstore.bookstore.svc.cluster.local:14001';
const WAREHOUSE = 'xds:///bookwarehouse.bookwarehouse.svc.cluster.local:14001';
const WORKLOADS = [
  { name: 'bookwarehouse', identity: 'bookwarehouse/bookwarehouse', args: ['server', 'bookwarehouse', '14021'] },
  { name: 'bookstore-v1', identity: 'bookstore/bookstore-v1', args: ['server', 'bookstore-v1', '14011', WAREHOUSE] },
  { name: 'bookstore-v2', identity: 'bookstore/bookstore-v2', args: ['server', 'bookstore-v2', '14012', WAREHOUSE] },
  { name: 'bookbuyer', identity: 'bookbuyer/bookbuyer', args: ['client', 'bookbuyer', STORE, rate] },
  { name: 'bookthief', identity: 'bookthief/bookthief', args: ['client', 'bookthief', STORE, rate] },
];

const children: ChildProcess[] = [];
let stopping = false;
const log = (t: string) => process.stderr.write(`${t}\n`);

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log('\nstopping workloads and controller...');
    const exits = children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of children) c.kill('SIGTERM');
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

// 1. the controller, as `npm start` runs it
const config = await loadConfig(configFile);
const controller = spawn(process.execPath, [join(root, 'bin/trellis.js'), 'controller', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
children.push(controller);
let controllerErr = '';
controller.stderr?.on('data', (d: Buffer) => (controllerErr = (controllerErr + d.toString()).slice(-20_000)));
controller.on('exit', (code) => {
  if (!stopping) {
    log(`controller exited (${code ?? 'signal'}):\n${controllerErr.split('\n').slice(-15).join('\n')}`);
    void stopAll(1);
  }
});
const adminUrl = await new Promise<string>((res, rej) => {
  const t = setTimeout(() => rej(new Error(`the controller did not start:\n${controllerErr}`)), 30_000);
  const poll = () => {
    const m = /admin (http:\/\/[^\s)]+)/.exec(controllerErr);
    if (m?.[1]) {
      clearTimeout(t);
      res(m[1]);
    } else setTimeout(poll, 50);
  };
  poll();
});
for (let i = 0; ; i++) {
  if ((await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status === 200) break;
  if (i > 200) throw new Error('controller not ready after 20 s');
  await new Promise((r) => setTimeout(r, 100));
}
// The identity service's URL (its port may be 0 in the config) and the mesh CA workloads check it against.
const identityUrl = /"url":"(https:\/\/[^"]+)"[^\n]*identity service listening|identity service listening[^\n]*"url":"(https:\/\/[^"]+)"/.exec(controllerErr)?.slice(1).find(Boolean);
if (!identityUrl) throw new Error('the controller does not run the identity service: set identity.address in the config');
// The public trust bundle the controller publishes beside its token store (never the CA state itself).
const caFile = join(resolve(config.baseDir, config.settings.identity.tokenDir), 'trust-bundle.pem');
log(`controller ready (admin ${adminUrl}, ADS plaintext ${config.settings.xds.plaintextAddress ?? 'off'})`);

// 2. one bootstrap per workload, 3. the workloads
const stateDir = join(root, '.trellis/demo');
const silent = { out: () => undefined, err: (t: string) => void process.stderr.write(t) };
const edges = new Map<string, { at: number; ok: Record<string, number>; failed: Record<string, number> }[]>();
for (const w of WORKLOADS) {
  const dir = join(stateDir, w.name);
  mkdirSync(dir, { recursive: true });
  // As an operator would: a single-use join token for the identity, handed to the workload's bootstrap.
  let token = '';
  if ((await runCli(['token', 'create', '--identity', w.identity, '--config', configFile, '--ttl', '5m'], { out: (t) => void (token += t), err: () => undefined })) !== 0) await stopAll(1);
  const code = await runCli(
    ['bootstrap', 'grpc', '--identity', w.identity, '--config', configFile, '--out', dir, '--server', identityUrl, '--ca', caFile, '--token', token.trim()],
    silent,
  );
  if (code !== 0) await stopAll(1);
  const child = fork(join(root, 'bin/run-ts.js'), [join(root, 'examples/demo/workload.ts'), ...w.args], {
    env: { ...process.env, GRPC_XDS_BOOTSTRAP: join(dir, 'bootstrap.json'), GRPC_XDS_EXPERIMENTAL_RBAC: 'true' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.push(child);
  child.stderr?.on('data', (d: Buffer) => {
    if (!stopping) process.stderr.write(`[${w.name}] ${d.toString()}`);
  });
  child.on('message', (m: { type: string; edges?: EdgeReport[] }) => {
    if (m.type !== 'report') return;
    for (const e of m.edges ?? []) {
      const key = `${e.from} -> ${e.to}`;
      const list = edges.get(key) ?? [];
      list.push({ at: Date.now(), ok: e.ok, failed: e.failed });
      edges.set(key, list);
    }
  });
}
log(`started ${WORKLOADS.map((w) => w.name).join(', ')}; bootstraps in ${stateDir}`);

// 4. the live summary over a sliding window
const WINDOW_MS = 5000;
const started = Date.now();
const pct = (n: number, total: number) => `${total ? Math.round((100 * n) / total) : 0}%`;
function render(): string {
  const now = Date.now();
  const rows: string[][] = [['EDGE', 'CALLS/S', 'ALLOWED/S', 'DENIED/S', 'WHO ANSWERED / WHY DENIED']];
  for (const [key, list] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    const recent = list.filter((r) => now - r.at <= WINDOW_MS);
    edges.set(key, recent);
    const ok: Record<string, number> = {};
    const failed: Record<string, number> = {};
    for (const r of recent) {
      for (const [k, v] of Object.entries(r.ok)) ok[k] = (ok[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r.failed)) failed[k] = (failed[k] ?? 0) + v;
    }
    const nOk = Object.values(ok).reduce((a, b) => a + b, 0);
    const nFail = Object.values(failed).reduce((a, b) => a + b, 0);
    const secs = Math.min(WINDOW_MS, now - started) / 1000 || 1;
    const detail = [
      ...Object.entries(ok).sort().map(([k, v]) => `${k} ${pct(v, nOk)}`),
      ...Object.entries(failed).sort().map(([k, v]) => `${k} ${pct(v, nFail)}`),
    ].join(' | ');
    rows.push([key, ((nOk + nFail) / secs).toFixed(1), (nOk / secs).toFixed(1), (nFail / secs).toFixed(1), detail]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  const elapsed = Math.round((now - started) / 1000);
  return `Trellis bookstore demo — ${elapsed}s (last ${WINDOW_MS / 1000}s; edit examples/bookstore/*.yaml to change policy; Ctrl-C to stop)\n${lines.join('\n')}\n`;
}
const tty = process.stdout.isTTY;
const timer = setInterval(() => {
  process.stdout.write(tty ? `\x1b[2J\x1b[H${render()}` : `${render()}\n`);
}, 1000);
if (durationS > 0) {
  setTimeout(() => {
    clearInterval(timer);
    process.stdout.write(render());
    void stopAll(0);
  }, durationS * 1000);
}
