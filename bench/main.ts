/**
 * `npm run bench -- [--proxies N] [--services M] [--scenario NAME|all] [--delta] [--out DIR]` (issue 8).
 * Generates a synthetic mesh for the file source, runs the controller in its own process and the simulated
 * proxies in another, runs the scenarios of performance.md, the wire-limit baseline, and writes
 * DIR/results.json and DIR/results.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseBenchArgs } from './args.ts';
import { ChildRpc } from './child-rpc.ts';
import type { ClientCommand, ProxySpec } from './clients-protocol.ts';
import type { BenchArgs, BenchContext, ScenarioResult } from './context.ts';
import { ControllerProcess } from './controller-proc.ts';
import { generateMesh, type MeshSettings } from './mesh-gen.ts';
import { loadAverage, machineInfo, writeReport, type Report } from './report.ts';
import { ceiling } from './scenarios/ceiling.ts';
import { certificateIssuance } from './scenarios/certificates.ts';
import { connectStorm, idleMemory } from './scenarios/connect-storm.ts';
import { endpointChurn } from './scenarios/endpoint-churn.ts';
import { injectionThroughput } from './scenarios/injection.ts';
import { meshWideToggle } from './scenarios/mesh-wide.ts';
import { debounceMs, singleChange } from './scenarios/single-change.ts';
import { translationCost } from './scenarios/translation.ts';
import { round } from './stats.ts';
import { measureWireLimit, type WirePush } from './wire-limit.ts';

const CONTROLLER_SCENARIOS = ['idle-memory', 'connect-storm', 'single-change', 'mesh-wide', 'endpoint-churn', 'ceiling'];
const PERMISSIVE_PAIRS_LIMIT = 300_000;
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Runs every controller scenario against one controller and one clients process; returns their results. */
async function controllerScenarios(args: BenchArgs, workDir: string): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const meshDir = join(workDir, 'mesh');
  const caDir = join(workDir, 'ca');
  mkdirSync(meshDir, { recursive: true });
  log(`generating ${args.services} services`);
  const mesh = generateMesh(meshDir, args.services);
  log(`starting the controller (${JSON.stringify(mesh.counts)})`);
  const controller = await ControllerProcess.start({ workDir, meshDir, caDir, nodeArgs: args.controllerNodeArgs,
    maxStreams: Math.max(20_000, args.proxies * 8),
    ...(args.fileDebounceMs !== undefined && { fileDebounceMs: args.fileDebounceMs }),
    ...(args.debounceMaxMs !== undefined && { debounceMaxMs: args.debounceMaxMs }),
    ...(args.connectionsPerSecond !== undefined && { connectionsPerSecond: args.connectionsPerSecond }),
  });
  const clients = new ChildRpc<ClientCommand>('clients.ts');
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const baselineRssBytes = controller.stats().rssBytes;
    const serviceOf = Array.from({ length: args.proxies }, (_, i) => i % mesh.services.length);
    const proxies: ProxySpec[] = serviceOf.map((svc) => ({ uuid: randomUUID(), namespace: mesh.services[svc]!.namespace, serviceAccount: mesh.services[svc]!.serviceAccount }));
    log(`issuing ${args.proxies} proxy certificates`);
    await clients.call({ op: 'add', caStateDir: caDir, trustDomain: 'cluster.local', proxies });
    const ctx: BenchContext = { args, workDir, mesh, controller, clients, proxies, serviceOf, controllerCaDir: caDir, baselineRssBytes };

    log(`connect storm: ${args.proxies} proxies`);
    const storm = await connectStorm(ctx);
    results.push(storm.result);
    if (args.scenarios.has('idle-memory')) results.push(await idleMemory(ctx));
    if (args.heapSnapshot) {
      controller.requestHeapSnapshot();
      log(`heap snapshot requested (written to ${workDir})`);
      await new Promise((r) => setTimeout(r, 15_000)); // writing it stops the controller's event loop
    }
    const wirePushes: { streams: number; bytes: number; apply: (w: WirePush) => void }[] = [];
    const ratio = (ms: number, w: WirePush) => (w.ms > 0 ? round(ms / w.ms) : NaN);
    wirePushes.push({
      streams: args.proxies,
      bytes: storm.bytesPerProxy,
      apply: (w) => Object.assign(storm.result.figures, { wireLimitMs: w.ms, ratioToWireLimit: ratio(storm.allReadyMs, w) }),
    });

    if (args.scenarios.has('single-change')) {
      log('single policy change');
      const sc = await singleChange(ctx);
      results.push(sc.result);
      const lat = sc.result.figures.convergenceMs as { p99: number };
      wirePushes.push({
        streams: Math.max(1, Math.round(sc.pushedAvg)),
        bytes: sc.bytesPerPushed,
        apply: (w) => Object.assign(sc.result.figures, { wireLimitMs: w.ms, ratioToWireLimit: ratio(lat.p99, w), ratioToWireLimitAfterDebounce: ratio(lat.p99 - debounceMs(ctx), w) }),
      });
    }
    if (args.scenarios.has('mesh-wide')) {
      // Permissive mode sends every service to every proxy: above this many proxy x service pairs it would
      // measure memory exhaustion rather than a push, so big runs do only the egress toggle.
      const permissive = args.proxies * args.services <= PERMISSIVE_PAIRS_LIMIT;
      const steps: [string, MeshSettings][] = [
        ['egress-on', { permissive: false, egress: true }],
        ['egress-off', { permissive: false, egress: false }],
        ...(permissive
          ? ([
              ['permissive-on', { permissive: true, egress: false }],
              ['permissive-off', { permissive: false, egress: false }],
            ] as [string, MeshSettings][])
          : []),
      ];
      for (const [label, settings] of steps) {
        log(`mesh-wide change: ${label}`);
        const r = await meshWideToggle(ctx, settings);
        const result: ScenarioResult = {
          scenario: `mesh-wide-${label}`,
          parameters: { proxies: args.proxies, services: args.services, change: `MeshConfig spec.traffic ${JSON.stringify(settings)}`, delta: args.delta },
          figures: {
            wallMs: r.wallMs,
            perProxyMs: r.perProxy,
            proxiesConverged: r.converged,
            proxiesPushed: r.pushed,
            proxiesAffected: args.proxies,
            controllerCpuSeconds: r.usage.controllerCpuSeconds,
            clientCpuSeconds: r.usage.clientCpuSeconds,
            controllerPeakRssBytes: r.usage.controllerPeakRssBytes,
            bytesSent: r.usage.bytesSent,
            bytesPerProxy: Math.round(r.bytesPerProxy),
            controllerSnapshotBuild: r.usage.histograms.trellis_snapshot_build_duration_seconds ?? null,
            controllerMetrics: r.usage.metrics,
          },
          goal: '2000 proxies converged in <= 3 s, within 3x of the wire limit',
          ...(!permissive && label === 'egress-off' && { notes: [`permissive toggle skipped: ${args.proxies} x ${args.services} > ${PERMISSIVE_PAIRS_LIMIT} proxy x service pairs`] }),
        };
        results.push(result);
        wirePushes.push({
          streams: args.proxies,
          bytes: r.bytesPerProxy,
          apply: (w) => {
            const x = ratio(r.wallMs, w);
            Object.assign(result.figures, { wireLimitMs: w.ms, ratioToWireLimit: x, ratioToWireLimitAfterDebounce: ratio(r.wallMs - debounceMs(ctx), w) });
            result.goalMet = args.proxies >= 2000 ? r.converged === args.proxies && r.wallMs <= 3000 && x <= 3 : null;
          },
        });
      }
    }
    if (args.scenarios.has('endpoint-churn')) {
      for (const rate of [10, 30]) {
        log(`endpoint churn ${rate}/s`);
        results.push(await endpointChurn(ctx, rate));
      }
    }
    if (args.scenarios.has('ceiling')) {
      log(`ceiling (budget ${args.ceilingBudgetS} s)`);
      try {
        results.push(await ceiling(ctx));
      } catch (err) {
        // Keep every figure measured so far; the ceiling's failure is itself a finding.
        results.push({ scenario: 'ceiling', parameters: { budgetSeconds: args.ceilingBudgetS }, figures: {}, goalMet: false, notes: [`failed: ${(err as Error).message}`] });
        return results;
      }
    }
    const final = controller.stats();
    for (const r of results) r.figures.controllerPeakRssBytesAtEnd ??= final.peakRssBytes;
    await clients.call({ op: 'close' });
    await controller.stop();

    log(`wire-limit baseline: ${wirePushes.length} pushes to ${args.proxies} streams`);
    try {
      const wire = await measureWireLimit(
        clients,
        caDir,
        args.proxies,
        wirePushes.map((p) => ({ streams: p.streams, bytes: p.bytes })),
      );
      wire.pushes.forEach((w, i) => wirePushes[i]!.apply(w));
      Object.assign(storm.result.figures, { wireConnectMs: wire.connectMs, ratioToWireConnect: round(storm.allReadyMs / wire.connectMs) });
      results.push({
        scenario: 'wire-limit',
        parameters: { streams: args.proxies, server: 'bare @grpc/grpc-js, mTLS, one pre-encoded response per stream, ACK awaited' },
        figures: { connectMs: wire.connectMs, notConnected: wire.notConnected, pushes: wire.pushes },
      });
    } catch (err) {
      // The controller's figures stand on their own; say why the ratios are missing.
      results.push({ scenario: 'wire-limit', parameters: { streams: args.proxies }, figures: {}, notes: [`failed: ${(err as Error).message}`] });
    }
    return results;
  } finally {
    await clients.close();
    await controller.stop();
  }
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const machine = machineInfo();
  const workDir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  const results: ScenarioResult[] = [];
  const out = resolve(args.out);
  // Written after every phase, so a later phase that fails or hangs does not lose what was measured.
  const flush = () => {
    const report: Report = {
      startedAt,
      loadAverage: { start: loadAtStart, end: loadAverage() },
      finishedAt: new Date().toISOString(),
      command,
      machine,
      scenarios: results.map((r) => ({ ...r, machine, command })),
    };
    writeReport(out, report);
  };
  try {
    if (CONTROLLER_SCENARIOS.some((s) => args.scenarios.has(s))) {
      results.push(...(await controllerScenarios(args, workDir)));
      flush();
    }
    if (args.scenarios.has('certificates')) {
      log('certificate issuance');
      results.push(await certificateIssuance(args.quick ? 500 : Math.max(2000, Math.min(args.proxies, 10_000))));
      flush();
    }
    if (args.scenarios.has('translation')) {
      log('translation cost');
      results.push(await translationCost(args.quick ? Math.min(300, args.services) : 10_000));
    }
    if (args.scenarios.has('injection')) {
      log('sidecar injection');
      results.push(await injectionThroughput(args.quick ? 500 : 5_000));
    }
  } finally {
    if (args.controllerNodeArgs.length === 0) rmSync(workDir, { recursive: true, force: true });
    else log(`controller profile and logs kept in ${workDir}`);
  }
  flush();
  log(`wrote ${join(out, 'results.json')} and results.md`);
  return 0;
}

process.exitCode = await main();
