import { definePlugin, TypeUrls, type ProxyView, type XdsResource } from '@trellis/plugin-sdk';

/**
 * A deliberately small proxy backend for controller tests: one STATIC cluster per outbound service and, when
 * it serves secrets, the proxy's own `service-cert` secret. Real backends live in plugins/.
 */
export default definePlugin({
  name: 'test-backend',
  kind: 'proxy',
  nodeKind: 'sidecar',
  version: '0.0.1',
  coreRange: '*',
  create: ({ resources }) => ({
    nodeKind: 'sidecar',
    servesSecrets: true,
    generate(view: ProxyView, ctx): XdsResource[] {
      const out = view.outbound.map((o) =>
        resources.create(TypeUrls.cluster, o.clusterName, { name: o.clusterName, type: 'STATIC', connect_timeout: { seconds: 1 } }),
      );
      if (ctx.certificate) {
        const name = `service-cert:${view.identity.namespace}/${view.identity.serviceAccount}`;
        out.push(
          resources.create(TypeUrls.secret, name, {
            name,
            tls_certificate: {
              certificate_chain: { inline_string: ctx.certificate.chainPem },
              private_key: { inline_string: ctx.certificate.privateKey.reveal() },
            },
          }, { audience: view.identity }),
        );
      }
      return out;
    },
  }),
});
