import { stringify } from 'yaml';
import { MUTATE_PATH } from '../injector/index.ts';
import { crdResources, crds, FOREIGN_KINDS } from './crds.ts';
import type { InstallValues } from './values.ts';

type Obj = Record<string, unknown>;

export const Ports = { ads: 15128, identity: 15130, deny: 15131, injector: 9090, admin: 9091 } as const;
/** The label a namespace joins the mesh with (`trellis namespace add`). */
export const MONITORED_BY = 'trellis.io/monitored-by';
/** The Secret the controller replicas share their CA through (created by the first one). */
export const CA_SECRET = 'trellis-ca';

const labels = (v: InstallValues, component: string) => ({ 'app.kubernetes.io/name': 'trellis', 'app.kubernetes.io/component': component, 'app.kubernetes.io/part-of': 'trellis', 'trellis.io/mesh': v.meshName });

/** The controller's config file, as the ConfigMap carries it. */
export function controllerConfig(v: InstallValues): Obj {
  const svc = `${v.namespace}.svc`;
  return {
    mesh: { name: v.meshName, trustDomain: v.trustDomain },
    plugins: {
      // The Kubernetes source (the `k8s` work) watches Services, EndpointSlices, Pods and the SMI kinds.
      sources: [{ use: 'kubernetes' }],
      proxies: [{ use: 'envoy' }, { use: 'grpc' }],
      // One CA for every replica, kept across restarts; the first replica creates it.
      certificates: { use: 'selfsigned', config: { caSecret: { namespace: v.namespace, name: CA_SECRET } } },
    },
    // The deny responder is an xDS endpoint, so proxyless clients are sent the pod IP (downward API), not a name.
    xds: { address: `0.0.0.0:${Ports.ads}`, denyResponder: { address: `0.0.0.0:${Ports.deny}`, advertiseAddress: `\${POD_IP}:${Ports.deny}` } },
    admin: { address: `0.0.0.0:${Ports.admin}` },
    identity: { address: `0.0.0.0:${Ports.identity}`, tokenDir: '/var/lib/trellis/identity-tokens', serviceAccountAudience: 'trellis' },
    ...(v.injector.enabled
      ? {
          injector: {
            address: `0.0.0.0:${Ports.injector}`,
            serviceName: `trellis-injector.${svc}`,
            envoyImage: v.envoyImage,
            trellisImage: v.image,
            xdsAddress: `trellis.${svc}:${Ports.ads}`,
            identityAddress: `trellis.${svc}:${Ports.identity}`,
          },
        }
      : {}),
    log: { level: v.logLevel },
  };
}

/** Everything a cluster needs, in apply order (CRDs and the namespace first, the webhook last). */
export function installManifests(v: InstallValues): Obj[] {
  const ns = v.namespace;
  const read = ['get', 'list', 'watch'];
  const webhookName = `trellis-injector-${v.meshName}`;
  const out: Obj[] = [
    ...crds(),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: labels(v, 'namespace') } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'trellis', namespace: ns, labels: labels(v, 'controller') } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `trellis-${v.meshName}`, labels: labels(v, 'controller') },
      rules: [
        // Read what the mesh is built from; never write it.
        { apiGroups: [''], resources: ['namespaces', 'services', 'endpoints', 'pods', 'serviceaccounts'], verbs: read },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
        ...[...crdResources(), ...FOREIGN_KINDS].map((r) => ({ apiGroups: [r.group], resources: r.plurals, verbs: read })),
        // Workload identities: projected ServiceAccount tokens checked by TokenReview.
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        // Injected pods' bootstrap Secrets (create only: the controller never reads other Secrets).
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        // Gateway API route status (Accepted/ResolvedRefs): the status subresource only, never the routes.
        { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes/status', 'grpcroutes/status'], verbs: ['patch'] },
        // Its own webhook's caBundle, by name.
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [webhookName], verbs: ['get', 'patch'] },
      ],
    },
    {
      // The shared CA: read and rotate it by name, in the controller's namespace only (create is above).
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'trellis-ca', namespace: ns, labels: labels(v, 'controller') },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [CA_SECRET], verbs: ['get', 'update'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'trellis-ca', namespace: ns, labels: labels(v, 'controller') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'trellis-ca' },
      subjects: [{ kind: 'ServiceAccount', name: 'trellis', namespace: ns }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `trellis-${v.meshName}`, labels: labels(v, 'controller') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `trellis-${v.meshName}` },
      subjects: [{ kind: 'ServiceAccount', name: 'trellis', namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'trellis-config', namespace: ns, labels: labels(v, 'controller') },
      data: { 'trellis.yaml': stringify(controllerConfig(v)) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'trellis', namespace: ns, labels: labels(v, 'controller') },
      spec: {
        replicas: v.replicas,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'trellis', 'app.kubernetes.io/component': 'controller' } },
        template: {
          metadata: { labels: labels(v, 'controller') },
          spec: {
            serviceAccountName: 'trellis',
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'controller',
                image: v.image,
                args: ['controller', '--config', '/etc/trellis/trellis.yaml'],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                ports: [
                  { name: 'ads', containerPort: Ports.ads },
                  { name: 'identity', containerPort: Ports.identity },
                  { name: 'deny', containerPort: Ports.deny },
                  ...(v.injector.enabled ? [{ name: 'injector', containerPort: Ports.injector }] : []),
                  { name: 'admin', containerPort: Ports.admin },
                ],
                livenessProbe: { httpGet: { path: '/livez', port: 'admin' }, periodSeconds: 10, failureThreshold: 3 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'admin' }, periodSeconds: 5, failureThreshold: 2 },
                startupProbe: { httpGet: { path: '/livez', port: 'admin' }, periodSeconds: 2, failureThreshold: 30 },
                resources: { requests: { cpu: v.resources.cpu, memory: v.resources.memory }, limits: { memory: v.resources.memory } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/trellis', readOnly: true },
                  { name: 'state', mountPath: '/var/lib/trellis' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: 'trellis-config' } },
              // Join tokens (universal mode; on Kubernetes workloads use TokenReview): the CA is in the Secret.
              { name: 'state', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'trellis', namespace: ns, labels: labels(v, 'controller') },
      spec: {
        selector: { 'app.kubernetes.io/name': 'trellis', 'app.kubernetes.io/component': 'controller' },
        ports: [
          { name: 'grpc-ads', port: Ports.ads, targetPort: 'ads', appProtocol: 'grpc' },
          { name: 'https-identity', port: Ports.identity, targetPort: 'identity' },
        ],
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'trellis', namespace: ns, labels: labels(v, 'controller') },
      spec: {
        ...(v.replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
        selector: { matchLabels: { 'app.kubernetes.io/name': 'trellis', 'app.kubernetes.io/component': 'controller' } },
      },
    },
  ];
  if (v.injector.enabled)
    out.push(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'trellis-injector', namespace: ns, labels: labels(v, 'injector') },
        spec: { selector: { 'app.kubernetes.io/name': 'trellis', 'app.kubernetes.io/component': 'controller' }, ports: [{ name: 'https-webhook', port: 443, targetPort: 'injector' }] },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: webhookName, labels: labels(v, 'injector') },
        webhooks: [
          {
            name: 'sidecar-injector.trellis.io',
            // caBundle is written by the controller (it issues and rotates the webhook's certificate).
            clientConfig: { service: { name: 'trellis-injector', namespace: ns, path: MUTATE_PATH, port: 443 } },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
            // Monitored namespaces only, never the control plane's own or kube-system.
            namespaceSelector: {
              matchLabels: { [MONITORED_BY]: v.meshName },
              matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [ns, 'kube-system'] }],
            },
            failurePolicy: v.injector.failurePolicy,
            timeoutSeconds: v.injector.timeoutSeconds,
            // Bootstrap Secrets are created, except on dry runs.
            sideEffects: 'NoneOnDryRun',
            admissionReviewVersions: ['v1'],
            reinvocationPolicy: 'Never',
          },
        ],
      },
    );
  return out;
}

/** A multi-document YAML stream `kubectl apply -f -` takes. */
export function toYamlStream(objects: readonly Obj[], header: string): string {
  return `${header}\n${objects.map((o) => `---\n${stringify(o)}`).join('')}`;
}

/** What `trellis uninstall` prints: delete commands in the reverse of the apply order. */
export function uninstallCommands(v: InstallValues, withCrds: boolean): string[] {
  return [
    ...(v.injector.enabled ? [`kubectl delete mutatingwebhookconfiguration trellis-injector-${v.meshName} --ignore-not-found`] : []),
    `kubectl delete namespace ${v.namespace} --ignore-not-found`,
    `kubectl delete clusterrolebinding trellis-${v.meshName} --ignore-not-found`,
    `kubectl delete clusterrole trellis-${v.meshName} --ignore-not-found`,
    `kubectl label namespace --all ${MONITORED_BY}-`,
    ...(withCrds
      ? crds().map((c) => `kubectl delete crd ${(c.metadata as { name: string }).name} --ignore-not-found`)
      : ['# CRDs (and every SMI policy with them) are kept; add --crds to delete them too']),
  ];
}
