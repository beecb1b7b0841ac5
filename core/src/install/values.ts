import { parse as parseYaml } from 'yaml';
import { ErrorCodes, s, TrellisError, type Infer } from '@trellis/plugin-sdk';

const dns = { pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, patternHint: 'a DNS label (lower-case letters, digits, dashes)' };

/** `trellis install` options (`--set key=value`, `--values FILE`); `trellis install --schema` prints the JSON Schema. */
export const installValuesSchema = s.object({
  namespace: s.default(s.string({ ...dns, description: "the controller's namespace" }), 'trellis-system'),
  meshName: s.default(s.string({ ...dns, description: 'the mesh name; namespaces join with the label trellis.io/monitored-by=<meshName>' }), 'trellis'),
  trustDomain: s.default(s.string({ minLength: 1, description: 'trust domain of every identity' }), 'cluster.local'),
  image: s.default(s.string({ minLength: 1, description: 'the controller image (also the init container and certificate agent)' }), 'ghcr.io/trellis-mesh/trellis:0.1.0'),
  envoyImage: s.default(s.string({ minLength: 1, description: 'the injected Envoy sidecar image' }), 'envoyproxy/envoy:v1.30.2'),
  replicas: s.default(s.number({ integer: true, min: 1, max: 10, description: 'controller replicas (a PodDisruptionBudget keeps one up when > 1)' }), 1),
  logLevel: s.default(s.literal(['debug', 'info', 'warn', 'error'] as const, { description: "the controller's log level" }), 'info'),
  resources: s.section({
    cpu: s.default(s.string({ minLength: 1, description: "the controller's CPU request" }), '250m'),
    memory: s.default(s.string({ minLength: 1, description: "the controller's memory request and limit" }), '512Mi'),
  }),
  injector: s.section({
    enabled: s.default(s.boolean({ description: 'install the sidecar-injector webhook' }), true),
    failurePolicy: s.default(s.literal(['Fail', 'Ignore'] as const, { description: 'what the API server does when the webhook is down (Fail: no pod escapes the mesh)' }), 'Fail'),
    timeoutSeconds: s.default(s.number({ integer: true, min: 1, max: 30, description: 'webhook call timeout' }), 10),
  }),
});

export type InstallValues = Infer<typeof installValuesSchema>;

/** `a.b=c` pairs over a values document: numbers and booleans as YAML reads them. */
export function applySets(doc: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(doc);
  for (const set of sets) {
    const i = set.indexOf('=');
    if (i <= 0) throw new TrellisError(ErrorCodes.CONFIG_INVALID, `--set "${set}" must look like key=value (e.g. --set injector.failurePolicy=Ignore)`);
    const path = set.slice(0, i).split('.');
    let cur: Record<string, unknown> = out;
    for (const seg of path.slice(0, -1)) {
      const next = cur[seg];
      if (next !== undefined && (typeof next !== 'object' || next === null)) throw new TrellisError(ErrorCodes.CONFIG_INVALID, `--set ${set}: "${seg}" is not a section`);
      cur = (cur[seg] ??= {}) as Record<string, unknown>;
    }
    cur[path.at(-1) as string] = parseYaml(set.slice(i + 1)) as unknown;
  }
  return out;
}

/** Decodes the values (defaults filled in); a problem names the key. */
export function decodeValues(doc: unknown): InstallValues {
  const r = installValuesSchema.parse(doc ?? {}, [], { baseDir: process.cwd() });
  if (!r.ok)
    throw new TrellisError(ErrorCodes.CONFIG_INVALID, `install values: ${r.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.value;
}
