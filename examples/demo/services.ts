/**
 * The bookstore demo's gRPC methods. Messages are JSON (no .proto needed); the paths are what SMI
 * HTTPRouteGroups match, exactly as with protobuf services.
 */
import type * as grpc from '@grpc/grpc-js';

export const PATHS = {
  buyBook: '/bookstore.Bookstore/BuyBook',
  booksBought: '/bookstore.Bookstore/BooksBought',
  restockBooks: '/bookwarehouse.Bookwarehouse/RestockBooks',
} as const;

export const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v ?? null)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString() || 'null'),
};

const unary = (path: string): grpc.MethodDefinition<unknown, unknown> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});

export const bookstoreService: grpc.ServiceDefinition = { BuyBook: unary(PATHS.buyBook), BooksBought: unary(PATHS.booksBought) };
export const warehouseService: grpc.ServiceDefinition = { RestockBooks: unary(PATHS.restockBooks) };

/** What a workload reports to the demo every interval: calls per edge, by outcome. */
export interface EdgeReport {
  readonly from: string;
  readonly to: string;
  /** Replies by the name of the serving workload (the split shows here). */
  readonly ok: Record<string, number>;
  /** Failures by gRPC status name. */
  readonly failed: Record<string, number>;
}
