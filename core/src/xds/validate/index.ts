/** The reusable Envoy validator: strict decode against Envoy's v3 protos plus protoc-gen-validate rules. */
export { validateEnvoyResource, validateConfigDump, validateBootstrap } from './validate.ts';
export type { ConfigDumpOptions } from './validate.ts';
export { pgvRule, rulesOf } from './pgv.ts';
