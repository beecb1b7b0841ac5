/** TLS contexts built from bootstrap certificate-provider instances (grpc-js-xds has no SDS). */
import { ExtensionTypeUrls, spiffeId, typedConfig } from '@trellis/plugin-sdk';
import type { Identity, TransportSocket } from '@trellis/plugin-sdk';
import { CERT_PROVIDER_INSTANCE } from './names.ts';

const provider = { instance_name: CERT_PROVIDER_INSTANCE };

/**
 * Client side: present our workload certificate, trust the mesh CA, and accept only a server whose URI SAN is
 * the SPIFFE ID of one of the identities behind the service. With no identity known, nothing may match: an
 * empty matcher list would accept any mesh certificate, so a never-matching SAN stands in.
 */
export function upstreamTls(identities: readonly Identity[], trustDomain: string, sni: string): TransportSocket {
  const sans = identities.map((id) => spiffeId(id, trustDomain));
  return upstreamTlsMatching(sans.length > 0 ? sans : [`spiffe://${trustDomain}/trellis/no-identity`], sni);
}

/** Present our workload certificate, trust the mesh CA, accept only a server with one of `sans` (exact). */
export function upstreamTlsMatching(sans: readonly string[], sni: string): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typedConfig(ExtensionTypeUrls.upstreamTls, {
      common_tls_context: {
        tls_certificate_provider_instance: provider,
        combined_validation_context: {
          default_validation_context: {
            match_subject_alt_names: sans.map((exact) => ({ exact })),
            ca_certificate_provider_instance: provider,
          },
        },
      },
      sni,
    }),
  };
}

/** Server side: require a client certificate from the mesh CA; RBAC then decides who it is. */
export function downstreamTls(): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typedConfig(ExtensionTypeUrls.downstreamTls, {
      common_tls_context: {
        tls_certificate_provider_instance: provider,
        validation_context: { ca_certificate_provider_instance: provider },
      },
      require_client_certificate: { value: true },
    }),
  };
}
