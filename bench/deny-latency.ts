/**
 * `node bin/run-ts.js bench/deny-latency.ts [trials]`: how long a denied proxyless call takes to fail on a
 * fresh channel (xDS resolution included): real grpc-js-xds and gRPC C-core (python3-grpcio) clients against
 * the real controller, no TrafficTarget, so every call gets the deny stand-in and the responder's
 * PERMISSION_DENIED. Prints per-client median / max wall ms, the controller process's CPU seconds, and the load
 * average (issue 16 item 5 asks for < 1 s). Each grpc-js trial uses a new workload identity node (new ADS
 * stream); each C-core trial a new process.
 *
 * `... deny-latency.ts [trials] allowed`: the same with a TrafficTarget a -> b applied first, so the calls are
 * allowed (and fail UNAVAILABLE: nothing listens on b). The first call of a process pays grpc-js-xds's one-time
 * loading either way; this run says how much of the denied first call is that loading rather than the deny path.
 */
import { loadavg } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../test/support/grpc-controller.ts';
import { ECHO_PATH, freePort, loadGrpcXds } from '../test/support/grpc-workloads.ts';
import { ccoreClient } from '../test/support/ccore-workloads.ts';

const trials = Math.max(2, Number(process.argv[2] ?? 10));
const allowed = process.argv[3] === 'allowed';
const outcome = allowed ? 'answer' : 'PERMISSION_DENIED';
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;

await loadGrpcXds();
const ctl = await GrpcTestMesh.start();
ctl.apply(...objects.workload('t', 'a', '127.0.0.41', 8080, await freePort(), 'grpc-echo'), ...objects.workload('t', 'b', '127.0.0.42', 8080, await freePort(), 'grpc-echo'));
if (allowed) ctl.apply(objects.tcpRoute('t', 'all-ports', []), objects.target('t', 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }]));
const cpu0 = process.cpuUsage();
const js: number[] = [];
const cc: number[] = [];
const codes = new Set<string>();
for (let i = 0; i < trials; i++) {
  const w = await ctl.workload({ namespace: 't', serviceAccount: 'a' });
  const c = await w.client('b:8080');
  const t0 = performance.now();
  const r = await c.call(ECHO_PATH, 10_000);
  js.push(performance.now() - t0);
  codes.add(r.ok ? 'OK' : grpc.status[r.code]);
  await w.close();
}
const jsCpu = process.cpuUsage(cpu0);
for (let i = 0; i < Math.max(1, Math.floor(trials / 2)); i++) {
  const w = await ctl.workload({ namespace: 't', serviceAccount: 'a' });
  const c = await ccoreClient(w, 'b:8080');
  const t0 = performance.now();
  const r = await c.run(1, ECHO_PATH, {}, 10);
  cc.push(performance.now() - t0);
  for (const k of Object.keys(r.tally)) codes.add(k);
  await c.close();
  await w.close();
}
const cpu = process.cpuUsage(cpu0);
await ctl.stop();
const f = (xs: number[]) => `median ${pct(xs, 0.5).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (n=${xs.length}: ${xs.map((x) => x.toFixed(0)).join(" ")})`;
console.log(`${allowed ? 'ALLOWED (TrafficTarget a -> b; no server on b) ' : ''}grpc-js-xds fresh channel -> ${outcome}: first of the process ${js[0]?.toFixed(0)} ms (includes grpc-js-xds's one-time proto loading), then ${f(js.slice(1))}; test-process CPU for these ${((jsCpu.user + jsCpu.system) / 1e6).toFixed(2)} s (controller and clients share it)`);
console.log(`C-core fresh channel -> ${outcome}: ${f(cc)} (timed in the driving process, the C-core call in its own)`);
console.log(`status codes seen: ${[...codes].join(', ')}; CPU of the controller + grpc-js process overall ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
