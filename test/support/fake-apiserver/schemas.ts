/**
 * The SMI CRDs' openAPIV3Schema (after smi-sdk-go's `crds/`, trimmed to what they constrain), checked on create,
 * update and patch as a real API server does: a violation answers 422 Invalid with the field. What the schema
 * accepts but Trellis rejects (a weight of -1 is an integer) reaches the controller, which reports it.
 */
import { Ajv, type ErrorObject } from 'ajv';

/** Problems with an object (`field: reason`), empty when it is valid. */
export type CrdValidator = (obj: unknown) => string[];

const str = { type: 'string' } as const;
const subject = { type: 'object', required: ['kind', 'name'], properties: { kind: str, name: str, namespace: str, port: { type: 'integer' } } } as const;
const spec = (s: object): object => ({ type: 'object', required: ['spec'], properties: { spec: s } });

const schemas: Record<string, object> = {
  'access.smi-spec.io/v1alpha3/TrafficTarget': spec({
    type: 'object',
    required: ['destination', 'sources'],
    properties: {
      destination: subject,
      sources: { type: 'array', items: subject },
      rules: { type: 'array', items: { type: 'object', required: ['kind', 'name'], properties: { kind: str, name: str, matches: { type: 'array', items: str } } } },
    },
  }),
  'specs.smi-spec.io/v1alpha4/HTTPRouteGroup': spec({
    type: 'object',
    properties: {
      matches: {
        type: 'array',
        items: { type: 'object', required: ['name'], properties: { name: str, pathRegex: str, methods: { type: 'array', items: str }, headers: {} } },
      },
    },
  }),
  'specs.smi-spec.io/v1alpha4/TCPRoute': spec({
    type: 'object',
    properties: { matches: { type: 'object', properties: { name: str, ports: { type: 'array', items: { type: 'integer' } } } } },
  }),
  'specs.smi-spec.io/v1alpha4/UDPRoute': spec({
    type: 'object',
    properties: { matches: { type: 'object', properties: { name: str, ports: { type: 'array', items: { type: 'integer' } } } } },
  }),
  'split.smi-spec.io/v1alpha2/TrafficSplit': spec({
    type: 'object',
    required: ['service', 'backends'],
    properties: { service: str, backends: { type: 'array', items: { type: 'object', required: ['service', 'weight'], properties: { service: str, weight: { type: 'integer' } } } } },
  }),
  'split.smi-spec.io/v1alpha4/TrafficSplit': spec({
    type: 'object',
    required: ['service', 'backends'],
    properties: {
      service: str,
      backends: { type: 'array', items: { type: 'object', required: ['service', 'weight'], properties: { service: str, weight: { type: 'integer' } } } },
      matches: { type: 'array', items: { type: 'object', required: ['kind', 'name'], properties: { kind: str, name: str } } },
    },
  }),
};

const ajv = new Ajv({ allErrors: true, strict: false });

function field(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  if (e.keyword === 'required') return `${path ? `${path}.` : ''}${String((e.params as { missingProperty: string }).missingProperty)}: Required value`;
  return `${path}: Invalid value: ${e.message ?? 'invalid'}`;
}

export const smiValidators: Record<string, CrdValidator> = Object.fromEntries(
  Object.entries(schemas).map(([id, schema]) => {
    const check = ajv.compile(schema);
    return [id, (obj: unknown): string[] => (check(obj) ? [] : (check.errors ?? []).map(field))];
  }),
);
