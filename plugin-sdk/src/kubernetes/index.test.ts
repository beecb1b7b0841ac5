import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeconfigError, contextNamespace, kubeconfigOrigin, loadKubeConfig } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'trellis-sdk-kubeconfig-'));
function kubeconfig(name: string, server: string, extra: { contexts?: { name: string; cluster: string; namespace?: string }[] } = {}): string {
  const path = join(dir, name);
  const contexts = extra.contexts ?? [{ name: 'main', cluster: 'c' }];
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: 'u', ...(c.namespace && { namespace: c.namespace }) } })),
      'current-context': contexts[0]!.name,
    }),
  );
  return path;
}

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'HOME']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('loadKubeConfig: one resolution order for every Kubernetes user', () => {
  it('an explicit path wins over the in-cluster service account and $KUBECONFIG', () => {
    const explicit = kubeconfig('explicit', 'https://explicit.example:6443');
    process.env.KUBECONFIG = kubeconfig('env', 'https://env.example:6443');
    process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    expect(loadKubeConfig({ kubeconfig: explicit }).getCurrentCluster()?.server).toBe('https://explicit.example:6443');
  });

  it('without a path: in-cluster when the service env is set, else $KUBECONFIG, else ~/.kube/config', () => {
    process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    process.env.KUBECONFIG = kubeconfig('env2', 'https://env.example:6443');
    expect(kubeconfigOrigin()).toEqual({ kind: 'in-cluster' });
    expect(loadKubeConfig().getCurrentCluster()?.server).toBe('https://10.0.0.1:443');
    delete process.env.KUBERNETES_SERVICE_HOST;
    expect(loadKubeConfig().getCurrentCluster()?.server).toBe('https://env.example:6443');
    delete process.env.KUBECONFIG;
    const home = mkdtempSync(join(tmpdir(), 'trellis-sdk-home-'));
    process.env.HOME = home;
    expect(() => loadKubeConfig()).toThrow(KubeconfigError);
    expect(() => loadKubeConfig()).toThrow(/KUBERNETES_SERVICE_HOST unset\), \$KUBECONFIG unset, and .*\.kube\/config does not exist/);
  });

  it('a context must exist; its namespace is read back', () => {
    const path = kubeconfig('ctx', 'https://a.example', { contexts: [{ name: 'one', cluster: 'c' }, { name: 'two', cluster: 'c', namespace: 'shop' }] });
    expect(contextNamespace(loadKubeConfig({ kubeconfig: path, context: 'two' }))).toBe('shop');
    expect(() => loadKubeConfig({ kubeconfig: path, context: 'three' })).toThrow(/context "three" is not in kubeconfig .*ctx \(it has: one, two\)/);
  });

  it('an unreadable file or a context without a cluster is a KubeconfigError naming the file', () => {
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'absent') })).toThrow(/^loading kubeconfig .*absent: .*ENOENT/);
    const path = kubeconfig('nocluster', 'https://a.example', { contexts: [{ name: 'x', cluster: 'missing' }] });
    expect(() => loadKubeConfig({ kubeconfig: path })).toThrow(/no cluster in kubeconfig .*nocluster for context "x"/);
  });
});
