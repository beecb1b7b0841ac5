import { X509Certificate } from 'node:crypto';
import type { DebugPage } from '@trellis/plugin-sdk';
import type { CertificateManager } from '../certs/index.ts';

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `/debug/ca`: the roots proxies trust (subject, validity, fingerprint; public certificates only), for `trellis check`. */
export function caPage(certs: () => CertificateManager | undefined, serverNames: readonly string[]): DebugPage {
  return {
    name: 'ca',
    get: async () => {
      const manager = certs();
      if (!manager) return { ready: false, roots: [] };
      const bundle = (await manager.server(serverNames)).trustBundlePem;
      const roots = (bundle.match(PEM) ?? []).map((pem) => {
        const x = new X509Certificate(pem);
        return { subject: x.subject, notBefore: new Date(x.validFrom).toISOString(), notAfter: new Date(x.validTo).toISOString(), fingerprint256: x.fingerprint256 };
      });
      return { ready: true, roots };
    },
  };
}
