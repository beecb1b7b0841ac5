/**
 * On-demand stand-ins: a name a node subscribed to explicitly that its snapshot lacks may be answered by the
 * node's proxy backend (`ProxyPlugin.standIn`) instead of "does not exist". The gRPC backend answers a
 * Listener a proxyless client dials but may not reach with a route to the controller's deny responder, so the
 * call fails at once with PERMISSION_DENIED and the reason. Cost: one lookup per subscribed name that is not
 * in the snapshot, so O(names actually dialled), never O(services x identities) in every snapshot.
 */
import type { NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import type { Snapshot } from '../cache/snapshot.ts';

/**
 * The stand-in for `name` of `typeUrl` for this node, or undefined. Must be deterministic in its inputs and
 * depend on the node only through its snapshot key (kind and identity): SotW shares encoded responses across
 * every stream of one snapshot.
 */
export type StandIns = (node: NodeIdentity, typeUrl: string, name: string) => XdsResource | undefined;

/**
 * The resource named `name` a node gets: the snapshot's own whenever it has one (a policy that starts allowing
 * a call replaces the stand-in with the next snapshot), else the stand-in, else undefined. A failing provider
 * counts as "no stand-in": a push never fails because of it.
 */
export function namedResource(snapshot: Snapshot, typeUrl: string, name: string, node: NodeIdentity | undefined, standIns: StandIns | undefined): XdsResource | undefined {
  const own = snapshot.get(typeUrl, name);
  if (own !== undefined || standIns === undefined || node === undefined) return own;
  try {
    return standIns(node, typeUrl, name);
  } catch {
    return undefined;
  }
}
