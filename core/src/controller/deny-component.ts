/**
 * Starts the deny responder when a proxy backend offers stand-ins (`ProxyPlugin.standIn`; the gRPC backend
 * does) and `xds.denyResponder.enabled`, and turns the backends' `standIn` into the xDS server's stand-ins
 * with the responder's address. An Envoy-only mesh opens no port.
 */
import { isIPv6 } from 'node:net';
import { CONTROLLER_SERVER_NAME, type DenyResponderAddress, type Logger, type Metrics, type ProxyPlugin, type XdsResourceFactory } from '@trellis/plugin-sdk';
import type { Catalog } from '../catalog/index.ts';
import { isWildcard, parseHostPort } from '../config/addresses.ts';
import type { MeshSettingsService } from '../settings/index.ts';
import type { MeshStore } from '../store/index.ts';
import type { StandIns } from '../xds/index.ts';
import { DenyResponder, type DenyResponderTls } from './deny-responder.ts';
import { denyVerdict } from './deny-verdict.ts';

export interface DenyResponderSettings {
  readonly enabled: boolean;
  readonly address: string;
  readonly advertiseAddress?: string | undefined;
  readonly rate: number;
  readonly burst: number;
  readonly maxConnections: number;
}

export interface RunningDenyResponder {
  readonly responder: DenyResponder;
  readonly address: DenyResponderAddress;
  readonly standIns: StandIns;
}

export async function startDenyResponder(deps: {
  settings: DenyResponderSettings;
  tls: DenyResponderTls;
  backends: ReadonlyMap<string, ProxyPlugin>;
  resources: XdsResourceFactory;
  catalog: Catalog;
  store: MeshStore;
  meshSettings: MeshSettingsService;
  logger: Logger;
  metrics: Metrics;
}): Promise<RunningDenyResponder | undefined> {
  const { settings, backends, resources } = deps;
  if (!settings.enabled || ![...backends.values()].some((b) => b.standIn !== undefined)) return undefined;
  const responder = new DenyResponder({
    address: settings.address,
    tls: deps.tls,
    rate: settings.rate,
    burst: settings.burst,
    maxConnections: settings.maxConnections,
    logger: deps.logger,
    metrics: deps.metrics,
    reason: (caller, authority, path) =>
      denyVerdict({ catalog: deps.catalog, store: deps.store, trustDomains: () => deps.meshSettings.trustDomains() }, caller, authority, path),
  });
  const bound = await responder.start();
  const address = advertised(settings, bound);
  const standIns: StandIns = (node, typeUrl, name) => backends.get(node.kind)?.standIn?.(typeUrl, name, { node, resources, denyResponder: address });
  return { responder, address, standIns };
}

/** The address clients are sent: `advertiseAddress`, else the bound one (loopback for a wildcard listener). */
function advertised(settings: DenyResponderSettings, bound: { host: string; port: number }): DenyResponderAddress {
  const adv = settings.advertiseAddress ? parseHostPort(settings.advertiseAddress) : undefined;
  const ip = adv?.host ?? (isWildcard(bound.host) ? (isIPv6(bound.host) ? '::1' : '127.0.0.1') : bound.host);
  const port = adv && adv.port !== 0 ? adv.port : bound.port;
  return { ip, port, serverName: CONTROLLER_SERVER_NAME };
}
