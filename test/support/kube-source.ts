/**
 * Helpers for tests of the kubernetes source against the fake API server: a source wired to a recording sink,
 * and the object-by-object comparison of what the source stored with what the server holds.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyOf, objectKeyString } from '@trellis/plugin-sdk';
import { MemoryLogger, RecordingSink } from '@trellis/plugin-sdk/testing';
import { ApiClient, BUILTIN_KINDS, KubernetesSource, loadKubeConfig, type WatchedKind } from '@trellis/plugin-source-kubernetes';
import type { FakeApiServer, KubeObj } from './fake-apiserver/index.ts';

export const MESH = 'trellis';

export interface SourceUnderTest {
  readonly source: KubernetesSource;
  readonly sink: RecordingSink;
  readonly logger: MemoryLogger;
}

export async function kubeSource(api: FakeApiServer, opts: { staleAfterMs?: number; resyncMs?: number; backoffMaxMs?: number; kinds?: readonly WatchedKind[] } = {}): Promise<SourceUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-kube-src-'));
  const path = join(dir, 'kubeconfig');
  await api.kubeconfig(path);
  const kc = loadKubeConfig({ kubeconfig: path });
  const sink = new RecordingSink();
  const logger = new MemoryLogger();
  const source = new KubernetesSource({
    api: new ApiClient(kc, { qps: 1000, burst: 1000, requestTimeoutMs: 5000 }),
    kinds: opts.kinds ?? BUILTIN_KINDS,
    meshName: () => MESH,
    sink,
    logger,
    source: 'kubernetes',
    staleAfterMs: opts.staleAfterMs ?? 30_000,
    resyncMs: opts.resyncMs ?? 0,
    backoff: { baseMs: 50, maxMs: opts.backoffMaxMs ?? 500 },
    absentRetryMs: 500,
  });
  return { source, sink, logger };
}

/** `key -> resourceVersion` of every object the source should store: members' objects, member namespaces, MeshConfigs. */
export function expectedView(api: FakeApiServer): Map<string, string> {
  const labels = ['trellis.io/monitored-by', 'openservicemesh.io/monitored-by'];
  const members = new Set(api.objects('v1', 'Namespace').filter((n) => labels.some((l) => n.metadata.labels?.[l] === MESH)).map((n) => n.metadata.name));
  const out = new Map<string, string>();
  const add = (o: KubeObj): void => void out.set(objectKeyString(keyOf(o)), String(o.metadata.resourceVersion));
  for (const k of BUILTIN_KINDS) {
    const apiVersion = k.group === '' ? k.versions[0]! : `${k.group}/${k.versions[k.versions.length - 1]!}`;
    for (const o of api.objects(apiVersion, k.kind)) {
      if (k.kind === 'Namespace' ? members.has(o.metadata.name) : k.kind === 'MeshConfig' || members.has(o.metadata.namespace ?? '')) add(o);
    }
  }
  return out;
}

/** `key -> resourceVersion` of what the sink holds. */
export function storedView(sink: RecordingSink): Map<string, string> {
  return new Map([...sink.objects].map(([k, o]) => [k, String(o.metadata.resourceVersion)]));
}

/** Differences between the two views, for a precise failure message (empty when equal). */
export function viewDiff(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of expected) if (actual.get(k) !== v) out.push(actual.has(k) ? `stale ${k}: stored ${actual.get(k)}, server ${v}` : `missing ${k} (server ${v})`);
  for (const k of actual.keys()) if (!expected.has(k)) out.push(`extra ${k}`);
  return out;
}
