import type { GenerateContext, ProxyView, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
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
