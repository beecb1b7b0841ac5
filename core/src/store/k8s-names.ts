/**
 * Kubernetes' own name rules (k8s.io/apimachinery/pkg/util/validation): each check returns why `value` breaks
 * the rule, or undefined. The store applies the rule Kubernetes applies to each kind and field, so that what
 * a file source accepts is what an API server would have accepted (and names stay small enough for xDS).
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[-a-z0-9]+$/;

export const LABEL_MAX = 63;
export const SUBDOMAIN_MAX = 253;
/** Kubernetes' TotalAnnotationSizeLimitB: keys plus values of one object's annotations. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const quote = (v: string): string => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
const tooLong = (v: string, max: number): string => `must be at most ${max} characters (got ${v.length})`;

export function dns1123Label(v: string): string | undefined {
  if (v.length > LABEL_MAX) return `${quote(v)} is not a DNS-1123 label: ${tooLong(v, LABEL_MAX)}`;
  if (!DNS1123_LABEL.test(v)) return `${quote(v)} is not a DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric`;
  return undefined;
}

export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > SUBDOMAIN_MAX) return `${quote(v)} is not a DNS-1123 subdomain: ${tooLong(v, SUBDOMAIN_MAX)}`;
  if (!DNS1123_SUBDOMAIN.test(v)) return `${quote(v)} is not a DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', starting and ending alphanumeric`;
  return undefined;
}

export function dns1035Label(v: string): string | undefined {
  if (v.length > LABEL_MAX) return `${quote(v)} is not a DNS-1035 label: ${tooLong(v, LABEL_MAX)}`;
  if (!DNS1035_LABEL.test(v)) return `${quote(v)} is not a DNS-1035 label: lower-case alphanumerics and '-', starting with a letter and ending alphanumeric`;
  return undefined;
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name <= 63 alphanumerics, `-_.`. */
export function qualifiedName(v: string): string | undefined {
  const parts = v.split('/');
  const name = parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
  const why =
    parts.length > 2
      ? 'at most one "/"'
      : parts.length === 2 && (parts[0] === '' || dns1123Subdomain(parts[0] ?? ''))
        ? 'the prefix before "/" must be a DNS-1123 subdomain'
        : name.length > LABEL_MAX
          ? `the name part ${tooLong(name, LABEL_MAX)}`
          : !QUALIFIED_NAME_PART.test(name)
            ? 'the name part must be alphanumerics, "-", "_" or ".", starting and ending alphanumeric'
            : undefined;
  return why && `${quote(v)} is not a qualified name: ${why}`;
}

export function labelValue(v: string): string | undefined {
  if (v.length > LABEL_MAX) return `${quote(v)} is not a valid label value: ${tooLong(v, LABEL_MAX)}`;
  if (!LABEL_VALUE.test(v)) return `${quote(v)} is not a valid label value: alphanumerics, "-", "_" or ".", starting and ending alphanumeric`;
  return undefined;
}

/** A named port (`targetPort`, container port names): an IANA service name. */
export function ianaServiceName(v: string): string | undefined {
  const why =
    v.length > 15
      ? tooLong(v, 15)
      : !IANA_SVC_NAME.test(v)
        ? "only lower-case alphanumerics and '-'"
        : !/[a-z]/.test(v)
          ? 'must contain at least one letter'
          : v.includes('--')
            ? "must not contain '--'"
            : v.startsWith('-') || v.endsWith('-')
              ? "must not start or end with '-'"
              : undefined;
  return why && `${quote(v)} is not an IANA service name: ${why}`;
}
