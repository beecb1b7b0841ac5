import { checkStrict } from '../resources/strict.ts';
import { pgvRule } from './pgv.ts';

const HIDDEN_BUILD_VERSION = 'hidden_envoy_deprecated_build_version';

/**
 * Everything Envoy would refuse in a resource, as `$.path: problem` lines (empty when valid): the strict decode
 * (unknown fields, wrong types, unknown or non-strict `Any` payloads, undefined enums) plus the
 * protoc-gen-validate rules Envoy enforces when it ingests configuration.
 */
export function validateEnvoyResource(typeUrlOrTypeName: string, obj: Record<string, unknown>): string[] {
  return checkStrict(typeUrlOrTypeName, obj, [pgvRule]);
}

export interface ConfigDumpOptions {
  /**
   * Accept `node.hidden_envoy_deprecated_build_version`, which Envoy <= 1.18 printed in its dumps and later
   * removed from the proto. Default true: dumps from such an Envoy are otherwise valid.
   */
  readonly allowLegacyBuildVersion?: boolean;
}

/** `validateEnvoyResource` for an Envoy admin `/config_dump` (`envoy.admin.v3.ConfigDump`). */
export function validateConfigDump(obj: Record<string, unknown>, options: ConfigDumpOptions = {}): string[] {
  return validateEnvoyResource('envoy.admin.v3.ConfigDump', obj).filter(
    (p) =>
      !(options.allowLegacyBuildVersion !== false && p.includes(`.node.${HIDDEN_BUILD_VERSION}: `)) &&
      // Envoy prints EDS resources it received for clusters without `service_name` with an empty cluster_name.
      !(p.includes('.dynamic_endpoint_configs[') && p.endsWith('ClusterLoadAssignment>.cluster_name: must be at least 1 character(s) long')),
  );
}

/** An Envoy bootstrap (`envoy.config.bootstrap.v3.Bootstrap`), e.g. the parsed `bootstrap.yaml`. */
export function validateBootstrap(obj: Record<string, unknown>): string[] {
  return validateEnvoyResource('envoy.config.bootstrap.v3.Bootstrap', obj);
}
