import { describe, expect, it } from 'vitest';
import { reduce } from './reduce.ts';

describe('reduce', () => {
  it('keeps of a pod only what the catalog reads', () => {
    const pod = {
      metadata: { name: 'p', namespace: 'n', uid: 'u', resourceVersion: '7', generateName: 'p-', labels: { app: 'a' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'x/y': 'z' }, managedFields: [{}], ownerReferences: [{}] },
      spec: { serviceAccountName: 'sa', nodeName: 'node', containers: [{ name: 'c', image: 'i', env: [{ name: 'E' }], ports: [{ name: 'http', containerPort: 80, protocol: 'TCP', hostPort: 8080 }] }], volumes: [{}] },
      status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], phase: 'Running', conditions: [{}] },
    };
    expect(reduce(pod, 'v1', 'Pod')).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'n', uid: 'u', resourceVersion: '7', labels: { app: 'a' }, annotations: { 'x/y': 'z' } },
      spec: { serviceAccountName: 'sa', nodeName: 'node', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
      status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], phase: 'Running' },
    });
  });

  it('keeps other kinds whole but for managedFields and the last-applied copy, with the served apiVersion and kind', () => {
    const split = { metadata: { name: 's', namespace: 'n', managedFields: [{}], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { service: 'r', backends: [] } };
    expect(reduce(split, 'split.smi-spec.io/v1alpha4', 'TrafficSplit')).toEqual({ apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: { name: 's', namespace: 'n' }, spec: { service: 'r', backends: [] } });
  });
});
