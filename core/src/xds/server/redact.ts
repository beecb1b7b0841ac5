import { SecretValue } from '@trellis/plugin-sdk';

const SECRET_KEYS = new Set(['private_key', 'password', 'secret']);
const REDACTED = '[redacted]';

/** A JSON-ready deep copy of a resource object with key material (`private_key`, generic secrets) redacted. */
export function redactResource(value: unknown): unknown {
  if (value instanceof SecretValue) return REDACTED;
  if (Array.isArray(value)) return value.map(redactResource);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) ? REDACTED : redactResource(v);
    return out;
  }
  return value;
}
