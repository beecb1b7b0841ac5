import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@trellis/core';
import { BUILTIN_KINDS } from '@trellis/plugin-source-kubernetes';
import { requireTool, tools } from '../support/tools.ts';
import { runTrellis } from '../support/cli.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const run = (args: string[]) => runTrellis(args);
const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter(Boolean);
const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);

/** Structural schema (apiextensions v1): every node says its type, or explicitly preserves unknown fields. */
function structuralProblems(schema: Obj, path: string): string[] {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && !schema.properties) return [];
  if (typeof schema.type !== 'string') return [`${path}: no type`];
  const out: string[] = [];
  for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, Obj>)) out.push(...structuralProblems(v, `${path}.${k}`));
  if (schema.items) out.push(...structuralProblems(schema.items as Obj, `${path}[]`));
  return out;
}

describe('trellis install', () => {
  it('renders CRDs with structural OpenAPI schemas, the namespace, RBAC, controller, Services, webhook and PDB', async () => {
    const r = await run(['install']);
    expect(r.code).toBe(0);
    const objs = docs(r.out);
    expect(new Set(objs.map((o) => o.kind))).toEqual(
      new Set(['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'MutatingWebhookConfiguration']),
    );
    const crds = byKind(objs, 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      'egresses.policy.trellis.io',
      'httproutegroups.specs.smi-spec.io',
      'ingressbackends.policy.trellis.io',
      'meshconfigs.config.trellismesh.io',
      'retries.policy.trellis.io',
      'tcproutes.specs.smi-spec.io',
      'trafficsplits.split.smi-spec.io',
      'traffictargets.access.smi-spec.io',
      'udproutes.specs.smi-spec.io',
      'upstreamtrafficsettings.policy.trellis.io',
    ]);
    for (const c of crds) for (const v of c.spec.versions) expect(structuralProblems(v.schema.openAPIV3Schema, `${c.metadata.name}/${v.name}`)).toEqual([]);
    const deploy = byKind(objs, 'Deployment')[0];
    const ctr = deploy?.spec.template.spec.containers[0];
    expect(ctr.livenessProbe.httpGet.path).toBe('/livez');
    expect(ctr.readinessProbe.httpGet.path).toBe('/readyz');
    expect(ctr.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(byKind(objs, 'Service').map((s) => s.metadata.name).sort()).toEqual(['trellis', 'trellis-injector']);
    const hook = byKind(objs, 'MutatingWebhookConfiguration')[0]?.webhooks[0];
    expect(hook).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 10, admissionReviewVersions: ['v1'], sideEffects: 'NoneOnDryRun', clientConfig: { service: { path: '/mutate-pod-creation' } } });
    expect(hook.namespaceSelector.matchLabels).toEqual({ 'trellis.io/monitored-by': 'trellis' });
    expect(hook.namespaceSelector.matchExpressions[0].values).toEqual(['trellis-system', 'kube-system']);
  });

  it('grants least privilege: reads for the mesh inputs, create-only Secrets and TokenReviews, its own webhook by name', async () => {
    const role = byKind(docs((await run(['install'])).out), 'ClusterRole')[0];
    const rules = role?.rules as { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
    }
    // The source watches every kind the store knows (a kind it may not list would keep it from ever being ready).
    const readable = new Set(rules.filter((r) => r.verbs.includes('watch')).flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`))));
    for (const k of BUILTIN_KINDS) expect(readable, `${k.group}/${k.plural}`).toContain(`${k.group}/${k.plural}`);
    const secrets = rules.filter((r) => r.resources.includes('secrets'));
    expect(secrets.flatMap((r) => r.verbs)).toEqual(['create']);
    const hooks = rules.find((r) => r.resources.includes('mutatingwebhookconfigurations'));
    expect(hooks?.resourceNames).toEqual(['trellis-injector-trellis']);
    const writes = rules.filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)));
    expect(writes.map((r) => r.resources[0]).sort()).toEqual(['httproutes/status', 'mutatingwebhookconfigurations', 'secrets', 'tokenreviews']);
    expect(rules.find((r) => r.resources.includes('httproutes/status'))).toEqual({ apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes/status', 'grpcroutes/status'], verbs: ['patch'] });
  });

  it('shares one CA between replicas through a Secret the controller may read and update by name only', async () => {
    const objs = docs((await run(['install', '--set', 'namespace=mesh'])).out);
    const config = parseYaml(byKind(objs, 'ConfigMap')[0]?.data['trellis.yaml'] as string) as Obj;
    expect(config.plugins.certificates).toEqual({ use: 'selfsigned', config: { caSecret: { namespace: 'mesh', name: 'trellis-ca' } } });
    const role = byKind(objs, 'Role').find((r) => r.metadata.name === 'trellis-ca');
    expect(role?.metadata.namespace).toBe('mesh');
    expect(role?.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['trellis-ca'], verbs: ['get', 'update'] }]);
    const binding = byKind(objs, 'RoleBinding').find((b) => b.metadata.name === 'trellis-ca');
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'trellis', namespace: 'mesh' }]);
  });

  it('takes --set values (checked against the values schema) and the ConfigMap holds a valid controller config', async () => {
    const r = await run(['install', '--set', 'namespace=mesh', '--set', 'replicas=3', '--set', 'injector.failurePolicy=Ignore']);
    const objs = docs(r.out);
    expect(byKind(objs, 'Deployment')[0]?.spec.replicas).toBe(3);
    expect(byKind(objs, 'PodDisruptionBudget')[0]?.spec).toMatchObject({ minAvailable: 1 });
    expect(byKind(objs, 'MutatingWebhookConfiguration')[0]?.webhooks[0].failurePolicy).toBe('Ignore');
    const cm = byKind(objs, 'ConfigMap')[0];
    expect(cm?.metadata.namespace).toBe('mesh');
    // The controller config parses with the real config schema (the kubernetes source is a plugin of its own).
    const text = (cm?.data['trellis.yaml'] as string).replace(/sources:\n\s+- use: kubernetes\n/, 'sources: []\n');
    // POD_IP comes from the downward API in the pod.
    const parsed = await parseConfig(text, '/etc/trellis/trellis.yaml', { env: { POD_IP: '10.1.2.3' } });
    expect(parsed.settings.injector.serviceName).toBe('trellis-injector.mesh.svc');
    expect(parsed.settings.xds.denyResponder.advertiseAddress).toBe('10.1.2.3:15131');
    const controller = byKind(objs, 'Deployment')[0]?.spec.template.spec.containers[0];
    expect(controller?.env).toContainEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    expect(controller?.ports).toContainEqual({ name: 'deny', containerPort: 15131 });
    const bad = await run(['install', '--set', 'injector.timeoutSeconds=99']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('injector.timeoutSeconds');
    expect((await run(['install', '--set', 'nokey'])).err).toContain('must look like key=value');
    const schema = JSON.parse((await run(['install', '--schema'])).out) as Obj;
    expect(schema.properties.injector.properties.failurePolicy.enum).toEqual(['Fail', 'Ignore']);
  });

  it('deploy/kustomize/base is the default install, and builds with kubectl kustomize', async () => {
    const base = readFileSync(join(root, 'deploy/kustomize/base/trellis.yaml'), 'utf8');
    expect(base).toBe((await run(['install'])).out);
    const { stdout } = await promisify(execFile)(requireTool(tools.kubectl), ['kustomize', join(root, 'deploy/kustomize/base')]);
    expect(docs(stdout).map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(docs(base).map((o) => `${o.kind}/${o.metadata.name}`).sort());
  });

  it('uninstall prints the deletes in reverse order, keeping CRDs unless asked', async () => {
    const r = await run(['uninstall']);
    expect(r.out.split('\n')[0]).toBe('kubectl delete mutatingwebhookconfiguration trellis-injector-trellis --ignore-not-found');
    expect(r.out).not.toContain('delete crd');
    expect((await run(['uninstall', '--crds'])).out).toContain('kubectl delete crd traffictargets.access.smi-spec.io');
  });
});
