import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type { DeltaDiscoveryRequest, DeltaDiscoveryRequest__Output } from '@trellis/plugin-sdk/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.ts';
import type { DeltaDiscoveryResponse, DeltaDiscoveryResponse__Output } from '@trellis/plugin-sdk/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.ts';
import type { DiscoveryRequest, DiscoveryRequest__Output } from '@trellis/plugin-sdk/xds/generated/envoy/service/discovery/v3/DiscoveryRequest.ts';
import type { DiscoveryResponse, DiscoveryResponse__Output } from '@trellis/plugin-sdk/xds/generated/envoy/service/discovery/v3/DiscoveryResponse.ts';
import { messageType } from '../resources/protos.ts';

export type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryRequest__Output,
  DeltaDiscoveryResponse,
  DeltaDiscoveryResponse__Output,
  DiscoveryRequest,
  DiscoveryRequest__Output,
  DiscoveryResponse,
  DiscoveryResponse__Output,
};

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
const DECODE: protobuf.IConversionOptions = { longs: String, enums: String, bytes: Buffer, arrays: false };

/** A message (proto field names) or its bytes, already encoded: pre-encoded responses are written as they are. */
export type Encodable<T> = T | Uint8Array;

function codec<T extends object, O>(fullName: string) {
  let type: protobuf.Type | undefined;
  const t = () => (type ??= messageType(fullName));
  return {
    encode: (msg: Encodable<T>): Buffer => {
      if (msg instanceof Uint8Array) return Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
      const bytes = t().encode(msg).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode: (buf: Buffer): O => {
      const tt = t();
      return tt.toObject(tt.decode(buf), DECODE) as O;
    },
  };
}

export const discoveryRequest = codec<DiscoveryRequest, DiscoveryRequest__Output>('envoy.service.discovery.v3.DiscoveryRequest');
export const discoveryResponse = codec<DiscoveryResponse, DiscoveryResponse__Output>('envoy.service.discovery.v3.DiscoveryResponse');
export const deltaRequest = codec<DeltaDiscoveryRequest, DeltaDiscoveryRequest__Output>('envoy.service.discovery.v3.DeltaDiscoveryRequest');
export const deltaResponse = codec<DeltaDiscoveryResponse, DeltaDiscoveryResponse__Output>('envoy.service.discovery.v3.DeltaDiscoveryResponse');

/**
 * The ADS service, hand-made so (de)serialisation is protobufjs over the same protos as the resources; the
 * server writes pre-encoded response bytes. Usable from both ends (the test ADS client uses it too).
 */
export const adsServiceDefinition = {
  StreamAggregatedResources: {
    path: `${SERVICE}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: discoveryRequest.encode,
    requestDeserialize: discoveryRequest.decode,
    responseSerialize: discoveryResponse.encode,
    responseDeserialize: discoveryResponse.decode,
  },
  DeltaAggregatedResources: {
    path: `${SERVICE}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: deltaRequest.encode,
    requestDeserialize: deltaRequest.decode,
    responseSerialize: deltaResponse.encode,
    responseDeserialize: deltaResponse.decode,
  },
} satisfies grpc.ServiceDefinition;

export type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest__Output, Encodable<DiscoveryResponse>>;
export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest__Output, Encodable<DeltaDiscoveryResponse>>;
