/**
 * The field readers the kinds' validators share: each returns the typed value or throws `FieldError` with the
 * field's path and why, which the validator turns into the object's reason.
 */
export class FieldError extends Error {}

export type Rec = Record<string, unknown>;
/** A check of a string: the reason it is wrong, or undefined. */
export type Rule = (v: string) => string | undefined;

export const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

export function bad(field: string, why: string): never {
  throw new FieldError(`${field}: ${why}`);
}

export function rec(v: unknown, field: string): Rec {
  if (!isRec(v)) bad(field, v === undefined ? 'is required' : 'must be a map');
  return v;
}

export const optRec = (v: unknown, field: string): Rec | undefined => (v === undefined || v === null ? undefined : rec(v, field));
