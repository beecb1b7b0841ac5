import { principalName, spiffeId } from '@trellis/plugin-sdk';
import type { Identity, IssuedCertificate, Secret, ServiceName } from '@trellis/plugin-sdk';
import { rootCertInboundName, rootCertOutboundName, serviceCertName } from '../names.ts';
import { byString } from './common.ts';

type SanMatcher = NonNullable<NonNullable<Secret['validation_context']>['match_typed_subject_alt_names']>[number];

/** `service-cert`: the proxy's own certificate chain and key (created with its identity as audience). */
export function serviceCertSecret(cert: IssuedCertificate): Secret {
  return {
    name: serviceCertName,
    tls_certificate: {
      certificate_chain: { inline_string: cert.chainPem },
      private_key: { inline_string: cert.privateKey.reveal() },
    },
  };
}

/** `root-cert-for-mtls-inbound`: trust the mesh roots; no SAN check here (RBAC checks the peer). The same for every identity. */
export function rootCertInboundSecret(trustBundlePem: string): Secret {
  return { name: rootCertInboundName, validation_context: { trusted_ca: { inline_string: trustBundlePem } } };
}

/**
 * `root-cert-for-mtls-outbound:ns/svc`: trust the mesh roots and accept only the identities behind the service
 * (SPIFFE URI SAN or OSM's DNS SAN). Without known identities it checks the roots only.
 */
export function rootCertOutboundSecret(svc: ServiceName, identities: readonly Identity[], trustDomain: string, trustBundlePem: string): Secret {
  const sans = new Map<string, SanMatcher>();
  for (const id of identities) {
    const uri = spiffeId(id, trustDomain);
    const dns = principalName(id, trustDomain);
    sans.set(`URI|${uri}`, { san_type: 'URI', matcher: { exact: uri } });
    sans.set(`DNS|${dns}`, { san_type: 'DNS', matcher: { exact: dns } });
  }
  const matchers = [...sans].sort(([a], [b]) => byString(a, b)).map(([, m]) => m);
  return {
    name: rootCertOutboundName(svc),
    validation_context: {
      trusted_ca: { inline_string: trustBundlePem },
      ...(matchers.length > 0 ? { match_typed_subject_alt_names: matchers } : {}),
    },
  };
}
