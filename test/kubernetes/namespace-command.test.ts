import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TYPES, FakeApiServer, kubectl } from '../support/fake-apiserver/index.ts';
import { runTrellis } from '../support/cli.ts';

/** `trellis namespace add|remove` against the fake API server, read back with Debian's kubectl. */

let api: FakeApiServer;
let work: string;
let kubeconfig: string;

async function ctl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(api, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const cli = (args: string[]) => runTrellis(args);
const labels = async (ns: string) => (JSON.parse(await ctl(['get', 'namespace', ns, '-o', 'json'])) as { metadata: { labels?: Record<string, string> } }).metadata.labels ?? {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'trellis-namespace-'));
  // The fake serves no Deployments by default; `--restart` patches them.
  api = await FakeApiServer.start({ types: [...DEFAULT_TYPES, { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'] }] });
  kubeconfig = join(work, 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  await ctl(['create', 'namespace', 'shop']);
  await ctl(['label', 'namespace', 'shop', 'team=payments']);
  await ctl(['apply', '--validate=false', '-f', '-'], JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cart', namespace: 'shop' }, spec: { selector: { matchLabels: { app: 'cart' } }, template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image: 'cart:1' }] } } } }));
}, 60_000);
afterAll(async () => {
  await api?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('trellis namespace', () => {
  it('add labels the namespace for the mesh (keeping its other labels) and --restart rolls its Deployments', async () => {
    const r = await cli(['namespace', 'add', 'shop', '--mesh', 'prod', '--restart', '--kubeconfig', kubeconfig]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('namespace shop joined mesh prod\nrestarted deployment shop/cart\n');
    expect(await labels('shop')).toEqual({ team: 'payments', 'trellis.io/monitored-by': 'prod' });
    const d = JSON.parse(await ctl(['get', 'deployment', '-n', 'shop', 'cart', '-o', 'json'])) as { spec: { template: { metadata: { annotations?: Record<string, string>; labels: Record<string, string> } } } };
    expect(Date.parse(d.spec.template.metadata.annotations?.['trellis.io/restartedAt'] ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(d.spec.template.metadata.labels).toEqual({ app: 'cart' });
  });

  it('remove deletes only the mesh label', async () => {
    const r = await cli(['namespace', 'remove', 'shop', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('namespace shop left the mesh\n');
    expect(await labels('shop')).toEqual({ team: 'payments' });
  });

  it('a namespace that does not exist fails with the API server reason', async () => {
    const r = await cli(['namespace', 'add', 'nope', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^labelling namespace nope: 404 .*nope.* not found\n$/);
  });

  it('a wrong action or a missing kubeconfig is a usage error', async () => {
    expect((await cli(['namespace', 'join', 'shop', '--kubeconfig', kubeconfig])).code).toBe(2);
    const r = await cli(['namespace', 'add', 'shop', '--kubeconfig', join(work, 'absent')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^loading kubeconfig .*absent: .*ENOENT/);
  });
});
