import type { IssuedCertificate } from './certificates.ts';
import type { NodeIdentity, ProxyKind } from '../mesh/identity.ts';
import type { ProxyView } from '../mesh/views.ts';
import type { XdsResource, XdsResourceFactory } from '../xds/resources.ts';
import type { Lifecycle } from './lifecycle.ts';

export interface GenerateContext {
  readonly node: NodeIdentity;
  readonly resources: XdsResourceFactory;
  /** The proxy's own workload certificate when the backend serves secrets (`servesSecrets`). */
  readonly certificate?: IssuedCertificate;
}

/** Where the controller's deny responder answers calls policy denies (`xds.denyResponder`). @public */
export interface DenyResponderAddress {
  /** An IP address (xDS endpoints are IPs), as clients should dial it. */
  readonly ip: string;
  readonly port: number;
  /** The DNS SAN on the responder's certificate (a client verifies it, besides the mesh CA). */
  readonly serverName: string;
}

export interface StandInContext {
  readonly node: NodeIdentity;
  readonly resources: XdsResourceFactory;
  /** Absent when no deny responder runs. */
  readonly denyResponder?: DenyResponderAddress;
}

/** The DNS name on the controller's ADS serving certificate; proxies verify it (besides the mesh CA). @public */
export const CONTROLLER_SERVER_NAME = 'trellis-controller';

export interface BootstrapRequest {
  readonly node: NodeIdentity;
  /** `host:port` of the controller's ADS listener this proxy should dial. */
  readonly controllerAddress: string;
  /** Directory the files will be written to (paths inside the bootstrap point there). */
  readonly outDir: string;
  readonly certificate: IssuedCertificate;
}

export interface BootstrapFile {
  /** Relative to the output directory. */
  readonly path: string;
  readonly content: string;
  /** File mode; private keys use 0o600. */
  readonly mode: number;
}

/** Turns one proxy's policy into xDS resources for one family of xDS clients. @public */
export interface ProxyPlugin extends Lifecycle {
  /** The node-id kind this backend serves (`sidecar` for Envoy, `grpc` for proxyless gRPC). */
  readonly nodeKind: ProxyKind;
  /** Whether the backend sends SDS secrets (then the core passes the proxy's certificate to `generate`). */
  readonly servesSecrets: boolean;
  /** Every resource this proxy should have. Deterministic: equal views give byte-identical resources. */
  generate(view: ProxyView, ctx: GenerateContext): readonly XdsResource[];
  /**
   * What to send for a name a node subscribed to explicitly that its snapshot lacks (a proxyless client
   * dialling a service policy denies it), or undefined: the name does not exist. Called by the xDS server per
   * push, so it must be cheap and deterministic in (typeUrl, name, ctx): return the same object for the same
   * inputs. It must not depend on whether the name is a mesh Service, or the answer would tell a client which
   * names exist. A real resource of that name, once in the snapshot, always wins.
   */
  standIn?(typeUrl: string, name: string, ctx: StandInContext): XdsResource | undefined;
  /** Files for `trellis bootstrap <kind>`. */
  bootstrap?(req: BootstrapRequest): BootstrapFile[] | Promise<BootstrapFile[]>;
}

/**
 * File names of a workload's certificate material in a bootstrap directory. `trellis bootstrap grpc` writes
 * them and `trellis agent` rewrites them on rotation, so both must agree. `identity` holds the chain followed
 * by the private key: readers that take the certificate and the key from that one file (grpc-js-xds's
 * `file_watcher`) can never see a new certificate with an old key during a rotation. @public
 */
export const WORKLOAD_CERT_FILES = { certificate: 'cert.pem', privateKey: 'key.pem', ca: 'ca.pem', identity: 'identity.pem' } as const;

/**
 * Every certificate file of a workload directory, in write order (the combined identity file first). Bootstraps
 * and the agent both write exactly these, each atomically. @public
 */
export function workloadCertFiles(c: IssuedCertificate): BootstrapFile[] {
  const key = c.privateKey.reveal();
  const chain = c.chainPem.endsWith('\n') ? c.chainPem : `${c.chainPem}\n`;
  return [
    { path: WORKLOAD_CERT_FILES.identity, content: `${chain}${key}`, mode: 0o600 },
    { path: WORKLOAD_CERT_FILES.certificate, content: c.chainPem, mode: 0o644 },
    { path: WORKLOAD_CERT_FILES.privateKey, content: key, mode: 0o600 },
    { path: WORKLOAD_CERT_FILES.ca, content: c.trustBundlePem, mode: 0o644 },
  ];
}
