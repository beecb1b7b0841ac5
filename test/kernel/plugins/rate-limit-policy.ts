import { coreServices, definePlugin, extensionPoints, type KubeObject } from '@trellis/plugin-sdk';

/** A policy plugin: adds the kind `policy.acme.io/v1 RateLimit` and keeps what it sees on a debug page. */
export default definePlugin({
  name: 'rate-limit-policy',
  kind: 'observability',
  version: '0.0.1',
  coreRange: '*',
  deps: { policies: coreServices.policies },
  extends: [extensionPoints.policyKinds, extensionPoints.debugPages],
  create: ({ deps, extend }) => {
    let seen: readonly KubeObject[] = [];
    extend(extensionPoints.policyKinds, {
      apiVersion: 'policy.acme.io/v1',
      kind: 'RateLimit',
      namespaced: true,
      validate: (obj) => {
        const rps = (obj.spec as { requestsPerSecond?: unknown } | undefined)?.requestsPerSecond;
        return Number.isInteger(rps) && (rps as number) > 0 ? { ok: true } : { ok: false, field: 'spec.requestsPerSecond', reason: `must be a positive integer, got ${JSON.stringify(rps)}` };
      },
    });
    const off = deps.policies.onChange('policy.acme.io/v1', 'RateLimit', (objs) => (seen = objs));
    extend(extensionPoints.debugPages, {
      name: 'rate-limits',
      get: () => seen.map((o) => ({ name: `${o.metadata.namespace ?? ''}/${o.metadata.name}`, rps: (o.spec as { requestsPerSecond: number }).requestsPerSecond })),
    });
    return { stop: off };
  },
});
