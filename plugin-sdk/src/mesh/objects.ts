/** Kubernetes-shaped objects as sources deliver them: the same YAML `kubectl apply` takes. @public */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Identifies an object independently of its version: `kind`, `namespace/name` (apiVersion group kept). */
export interface ObjectKey {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Where an object or an error came from, for precise reports (`file:line` for the file source). */
export interface ObjectOrigin {
  readonly source: string;
  readonly file?: string;
  readonly line?: number;
}

/** A problem a source met that is not tied to one valid object (unparsable YAML, unreadable file). */
export interface SourceError {
  readonly source: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

/** `group` of an apiVersion (`''` for the core group). */
export function apiGroup(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** A stable string key for an object: `group/Kind/namespace/name` (versions of one kind share it). */
export function objectKeyString(k: ObjectKey): string {
  return `${apiGroup(k.apiVersion)}/${k.kind}/${k.namespace ?? ''}/${k.name}`;
}

export function keyOf(obj: KubeObject): ObjectKey {
  return obj.metadata.namespace === undefined
    ? { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name }
    : { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}
