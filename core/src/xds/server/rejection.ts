import type * as grpc from '@grpc/grpc-js';
import { ErrorCodes, TrellisError } from '@trellis/plugin-sdk';

/** The gRPC status names a refusal may end a stream with. */
export type RejectionStatus = keyof typeof grpc.status;

/**
 * Thrown by `onNodeConnected` to refuse a node: the server ends its stream with `status` and the message as
 * details (the proxy sees why), and counts it under `trellis_xds_rejected_streams_total{reason}`.
 */
export class NodeRejectedError extends TrellisError {
  readonly status: RejectionStatus;
  readonly reason: string;

  constructor(message: string, opts: { status: RejectionStatus; reason: string }) {
    super(ErrorCodes.XDS_REJECTED, message);
    this.name = 'NodeRejectedError';
    this.status = opts.status;
    this.reason = opts.reason;
  }
}
