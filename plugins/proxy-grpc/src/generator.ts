import type { GenerateContext, ProxyView, StandInContext, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import { denyStandIn } from './internal/deny.ts';
import { clientResources } from './internal/client.ts';
import { ResourceMemo } from './internal/memo.ts';
import { serverResources } from './internal/server.ts';

export interface GrpcGeneratorOptions {
  /** Encoded resources kept for sharing across proxies (LRU). Default 20000. */
  readonly memoSize?: number;
}

/**
 * The proxyless gRPC generator: client api_listeners, RDS routes (TrafficSplit as weighted clusters), EDS
 * clusters with mTLS from certificate-provider instances, endpoints, and server Listeners with RBAC for each
 * local endpoint. Deterministic; equal resources are the same object across proxies (shared encoding).
 */
export function createGrpcGenerator(options: GrpcGeneratorOptions = {}): (view: ProxyView, ctx: Pick<GenerateContext, 'resources'>) => XdsResource[] {
  const memos = new WeakMap<XdsResourceFactory, ResourceMemo>();
  return (view, ctx) => {
    let memo = memos.get(ctx.resources);
    if (!memo) memos.set(ctx.resources, (memo = new ResourceMemo(options.memoSize)));
    const emit = memo.emitter(ctx.resources);
    return [...clientResources(view, emit), ...serverResources(view, emit)];
  };
}

/**
 * `ProxyPlugin.standIn` of the gRPC backend: the deny Listener / cluster / endpoint (internal/deny.ts), encoded
 * once per name and shared by every node (a bounded LRU: names are chosen by clients).
 */
export function createGrpcStandIns(options: GrpcGeneratorOptions = {}): (typeUrl: string, name: string, ctx: StandInContext) => XdsResource | undefined {
  const memos = new WeakMap<XdsResourceFactory, ResourceMemo>();
  return (typeUrl, name, ctx) => {
    let memo = memos.get(ctx.resources);
    if (!memo) memos.set(ctx.resources, (memo = new ResourceMemo(options.memoSize, 32 * 1024 * 1024)));
    return denyStandIn(memo.emitter(ctx.resources), typeUrl, name, ctx);
  };
}
