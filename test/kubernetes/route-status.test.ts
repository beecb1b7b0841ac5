import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kubernetesSource from '@trellis/plugin-source-kubernetes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer, kubectl } from '../support/fake-apiserver/index.ts';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { eventually } from '../support/grpc-workloads.ts';

/**
 * GAMMA route status written back, end to end against the fake API server: the controller with
 * `use: kubernetes` computes Accepted / ResolvedRefs per Service parent and patches `status.parents[]` through
 * the `/status` subresource; kubectl 1.20 applies the routes and reads the status back. Another controller's
 * entry is kept, a fixed route gets new conditions with the new observedGeneration, and a change that leaves
 * the status as it is (including our own write coming back as a watch event) sends no PATCH.
 */

const NS = 'shop';
const CONTROLLER = 'trellismesh.io/gamma-controller';
const OTHER = { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: NS, name: 'edge' }, controllerName: 'example.com/gateway', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] };

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
interface Parent {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: Cond[];
}

let api: FakeApiServer;
let ctl: GrpcTestMesh;

const route = (name: string, backend: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${NS} }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews, port: 9080 }]
  rules: [{ backendRefs: [{ name: ${backend}, port: 9080 }] }]
`;

async function run(args: string[], input?: string): Promise<string> {
  const r = await kubectl(api, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `status.parents` as kubectl reads it from the server. */
async function parents(name: string): Promise<Parent[]> {
  const out = await run(['get', 'httproute', name, '-n', NS, '-o', 'jsonpath={.status}']);
  return out.trim() === '' ? [] : ((JSON.parse(out) as { parents?: Parent[] }).parents ?? []);
}
const ours = (ps: Parent[]): Parent | undefined => ps.find((p) => p.controllerName === CONTROLLER);
const cond = (p: Parent | undefined, type: string): Cond | undefined => p?.conditions.find((c) => c.type === type);
const statusPatches = (): number => api.requests.filter((r) => r.method === 'PATCH' && /\/httproutes\/[^/]+\/status$/.test(r.path.split('?')[0]!)).length;
interface WriterStats {
  idle: boolean;
  flushes: number;
  patches: number;
  conflicts: number;
  failures: number;
}
const writerStats = async (): Promise<WriterStats> => (await ctl.mesh.getJson<{ routeStatus: WriterStats }>('/debug/kubernetes')).body.routeStatus;

/** Does `change`, then waits until the writer has run after it and has nothing left to do. */
async function afterChange(change: () => unknown): Promise<void> {
  const before = (await writerStats()).flushes;
  await change();
  await eventually(async () => {
    const s = await writerStats();
    if (s.flushes <= before || !s.idle) throw new Error(`route status writer not done: ${JSON.stringify(s)}`);
  }, 15_000);
}

beforeAll(async () => {
  api = await FakeApiServer.start();
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'trellis.io/monitored-by': 'trellis' } } });
  for (const name of ['reviews', 'reviews-v1'])
    api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 9080, appProtocol: 'http' }] } });
  await run(['apply', '--validate=false', '-f', '-'], route('good', 'reviews-v1') + '---\n' + route('broken', 'reviews-v9'));
  // Another controller's entry (a gateway implementation also attached to the route) before ours.
  api.putStatus('gateway.networking.k8s.io/v1', 'HTTPRoute', NS, 'good', { parents: [OTHER] });
  const dir = await mkdtemp(join(tmpdir(), 'trellis-route-status-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  ctl = await GrpcTestMesh.start({ plugins: [{ definition: kubernetesSource, config: { kubeconfig, staleAfterSeconds: 30 } }] });
  await eventually(async () => {
    if (!ctl.mesh.ready()) throw new Error('controller not ready');
  }, 20_000);
}, 60_000);

afterAll(async () => {
  await ctl?.stop();
  await api?.stop();
});

describe('route status written back to the API server (against the fake API server)', () => {
  it('writes Accepted/ResolvedRefs per Service parent with observedGeneration, keeping other controllers’ entries', async () => {
    const good = await eventually(async () => {
      const ps = await parents('good');
      if (!ours(ps)) throw new Error(`no status of ours yet: ${JSON.stringify(ps)}`);
      return ps;
    }, 15_000);
    expect(good.find((p) => p.controllerName === OTHER.controllerName)).toEqual(OTHER);
    const mine = ours(good)!;
    expect(mine.parentRef).toEqual({ group: '', kind: 'Service', namespace: NS, name: 'reviews', port: 9080 });
    expect(cond(mine, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted', observedGeneration: 1 });
    expect(cond(mine, 'ResolvedRefs')).toMatchObject({ status: 'True', reason: 'ResolvedRefs', observedGeneration: 1 });
    expect(cond(mine, 'Accepted')?.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const broken = await eventually(async () => {
      const p = ours(await parents('broken'));
      if (!p) throw new Error('no status of ours yet');
      return p;
    }, 15_000);
    expect(cond(broken, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(cond(broken, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'BackendNotFound', observedGeneration: 1 });
    expect(cond(broken, 'ResolvedRefs')?.message).toContain('Service shop/reviews-v9 does not exist');
  });

  it('sends no PATCH when nothing changed the status: not for its own write coming back, nor for an unrelated change', async () => {
    const before = statusPatches();
    expect(before).toBeGreaterThanOrEqual(2);
    // A Service no route names: the store changes, the writer runs, the status stays.
    await afterChange(() => api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'unrelated', namespace: NS }, spec: { ports: [{ port: 80 }] } }));
    expect(statusPatches()).toBe(before);
    expect((await writerStats()).patches).toBe(before);
  });

  it('updates the status when the route is fixed: new observedGeneration, lastTransitionTime kept where the status did not change', async () => {
    const old = ours(await parents('broken'));
    const before = statusPatches();
    await run(['apply', '--validate=false', '-f', '-'], route('broken', 'reviews-v1'));
    const fixed = await eventually(async () => {
      const p = ours(await parents('broken'));
      if (cond(p, 'ResolvedRefs')?.status !== 'True') throw new Error(`not updated yet: ${JSON.stringify(p)}`);
      return p!;
    }, 15_000);
    expect(cond(fixed, 'ResolvedRefs')).toMatchObject({ reason: 'ResolvedRefs', observedGeneration: 2 });
    expect(cond(fixed, 'Accepted')).toMatchObject({ status: 'True', observedGeneration: 2, lastTransitionTime: cond(old, 'Accepted')?.lastTransitionTime });
    // Its own write's watch event, and a later unrelated change, write nothing more.
    await afterChange(() => api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'unrelated-2', namespace: NS }, spec: { ports: [{ port: 80 }] } }));
    expect(statusPatches()).toBe(before + 1);
  });

  it('retries a status write the server answers with 5xx, and puts our entry back when another writer removed it', async () => {
    api.faults.fail(2, 503, /\/status$/);
    // Another writer replaces the whole list (a merge patch of status.parents does): our entry is gone.
    api.putStatus('gateway.networking.k8s.io/v1', 'HTTPRoute', NS, 'good', { parents: [OTHER] });
    const back = await eventually(async () => {
      const ps = await parents('good');
      if (!ours(ps)) throw new Error('our entry is not back yet');
      return ps;
    }, 20_000);
    expect(back.find((p) => p.controllerName === OTHER.controllerName)).toEqual(OTHER);
    expect((await writerStats()).failures).toBeGreaterThanOrEqual(1);
  });

  it('two replicas writing the same routes converge on one entry of ours, without writing back and forth', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-route-status-2-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await api.kubeconfig(kubeconfig);
    const second = await GrpcTestMesh.start({ plugins: [{ definition: kubernetesSource, config: { kubeconfig, staleAfterSeconds: 30 } }] });
    try {
      await eventually(async () => {
        if (!second.mesh.ready()) throw new Error('second controller not ready');
      }, 20_000);
      const stats = async (m: GrpcTestMesh): Promise<WriterStats> => (await m.mesh.getJson<{ routeStatus: WriterStats }>('/debug/kubernetes')).body.routeStatus;
      const twinPatches = (): number => api.requests.filter((r) => r.method === 'PATCH' && r.path.split('?')[0]!.endsWith('/httproutes/twin/status')).length;
      await run(['apply', '--validate=false', '-f', '-'], route('twin', 'reviews-v9'));
      await eventually(async () => {
        const p = ours(await parents('twin'));
        if (cond(p, 'ResolvedRefs')?.reason !== 'BackendNotFound') throw new Error('no status of ours yet');
      }, 15_000);
      // Both replicas settle: nothing pending, and a later change writes nothing more.
      const settle = async (): Promise<void> => {
        const before = [(await stats(ctl)).flushes, (await stats(second)).flushes];
        api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: `poke-${Date.now()}`, namespace: NS }, spec: { ports: [{ port: 80 }] } });
        await eventually(async () => {
          const [a, b] = [await stats(ctl), await stats(second)];
          if (a.flushes <= before[0]! || b.flushes <= before[1]! || !a.idle || !b.idle) throw new Error('replicas not done');
        }, 15_000);
      };
      await settle();
      const written = twinPatches();
      // One write, or two when both raced (the loser's is refused with 409 or is a no-op): never more.
      expect(written).toBeGreaterThanOrEqual(1);
      expect(written).toBeLessThanOrEqual(2);
      expect((await parents('twin')).filter((p) => p.controllerName === CONTROLLER)).toHaveLength(1);
      await settle();
      expect(twinPatches()).toBe(written);
    } finally {
      await second.stop();
    }
  });
});
