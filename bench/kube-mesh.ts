/**
 * `--source kubernetes`: the generated mesh served by the fake API server (test/support/fake-apiserver, in the
 * bench's main process) instead of written as YAML. Every namespace carries the mesh's membership label; the
 * scenarios' edits become API writes (`put`), which the controller's kubernetes source sees as watch events.
 * Figures from this mode are "against the fake API server", never "on Kubernetes".
 */
import { join } from 'node:path';
import { FakeApiServer, type KubeObj } from '../test/support/fake-apiserver/index.ts';
import { buildMesh, type GenMesh } from './mesh-gen.ts';

export interface KubeMesh {
  api: FakeApiServer;
  mesh: GenMesh;
  kubeconfig: string;
}

/** Starts the fake API server, creates the mesh's objects in it and writes a kubeconfig for the controller. */
export async function serveMesh(workDir: string, serviceCount: number, meshName: string): Promise<KubeMesh> {
  // The kubernetes source re-lists after a 410; a history as long as the mesh keeps the churn well inside it.
  const { files, ...gen } = buildMesh(serviceCount);
  const api = await FakeApiServer.start({ historyLimit: 100_000 });
  const label = { 'trellis.io/monitored-by': meshName };
  const objs = [...files.values()].flat() as KubeObj[];
  // Namespaces first (a namespaced object needs its namespace), the MeshConfig's namespace among them.
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'trellis-system', labels: label } });
  for (const o of objs) if (o.kind === 'Namespace') api.create({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...label } } });
  for (const o of objs) if (o.kind !== 'Namespace') api.create(o);
  const kubeconfig = join(workDir, 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  const mesh: GenMesh = { ...gen, dir: '', meshConfigFile: '', publish: (_file, obj) => void api.put(obj as KubeObj) };
  return { api, mesh, kubeconfig };
}
