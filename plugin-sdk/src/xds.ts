/**
 * xDS resources as proxy backends hand them to the core. A resource is encoded once (protobuf) and shared by
 * reference between every proxy snapshot that contains it; its version is a hash of its bytes. @public
 */
export const TypeUrls = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

export type TypeUrl = (typeof TypeUrls)[keyof typeof TypeUrls];

export interface XdsResource {
  readonly typeUrl: string;
  readonly name: string;
  /** Content-derived version (hash of `body`): equal state gives equal versions across restarts and replicas. */
  readonly version: string;
  /** The protobuf encoding of the resource message (not wrapped in Any). */
  readonly body: Uint8Array;
  /** The object it was encoded from (snake_case field names, `@type` for Any), for debug output. */
  readonly value: Readonly<Record<string, unknown>>;
}

/** Encodes resource objects. The object uses the proto field names (snake_case) and `'@type'` inside Any. */
export interface XdsResourceFactory {
  create(typeUrl: string, name: string, value: Record<string, unknown>): XdsResource;
}
