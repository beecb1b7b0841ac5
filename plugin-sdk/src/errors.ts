/** Stable error codes. Operators and scripts match on these; never rename one. @public */
export const ErrorCodes = {
  CONFIG_INVALID: 'TRELLIS_ERR_CONFIG_INVALID',
  CONFIG_NOT_FOUND: 'TRELLIS_ERR_CONFIG_NOT_FOUND',
  PLUGIN_NOT_FOUND: 'TRELLIS_ERR_PLUGIN_NOT_FOUND',
  PLUGIN_INVALID: 'TRELLIS_ERR_PLUGIN_INVALID',
  PLUGIN_VERSION_MISMATCH: 'TRELLIS_ERR_PLUGIN_VERSION_MISMATCH',
  PLUGIN_KIND_MISMATCH: 'TRELLIS_ERR_PLUGIN_KIND_MISMATCH',
  PLUGIN_CONFIG_INVALID: 'TRELLIS_ERR_PLUGIN_CONFIG_INVALID',
  PLUGIN_DEPENDENCY_MISSING: 'TRELLIS_ERR_PLUGIN_DEPENDENCY_MISSING',
  PLUGIN_DEPENDENCY_CYCLE: 'TRELLIS_ERR_PLUGIN_DEPENDENCY_CYCLE',
  /** A slot the core requires (the certificate provider) has no provider. */
  PROVIDER_MISSING: 'TRELLIS_ERR_PROVIDER_MISSING',
  /** Two contributions to a single slot, or two with one key (two backends claiming one node kind). */
  EXTENSION_CONFLICT: 'TRELLIS_ERR_EXTENSION_CONFLICT',
  /** A plugin contributes to an extension point or provides a service it did not declare. */
  PLUGIN_UNDECLARED: 'TRELLIS_ERR_PLUGIN_UNDECLARED',
  PLUGIN_START_FAILED: 'TRELLIS_ERR_PLUGIN_START_FAILED',
  PLUGIN_STOP_FAILED: 'TRELLIS_ERR_PLUGIN_STOP_FAILED',
  SERVICE_ALREADY_REGISTERED: 'TRELLIS_ERR_SERVICE_ALREADY_REGISTERED',
  SERVICE_NOT_FOUND: 'TRELLIS_ERR_SERVICE_NOT_FOUND',
  CERT_ISSUE_FAILED: 'TRELLIS_ERR_CERT_ISSUE_FAILED',
  CERT_PROVIDER_UNAVAILABLE: 'TRELLIS_ERR_CERT_PROVIDER_UNAVAILABLE',
  OBJECT_INVALID: 'TRELLIS_ERR_OBJECT_INVALID',
  XDS_REJECTED: 'TRELLIS_ERR_XDS_REJECTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error with a stable code and, where it applies, the config path or object it is about. @public */
export class TrellisError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  /** Every problem when there were several (config validation reports them all at once). */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, opts: { path?: string; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TrellisError';
    this.code = code;
    this.path = opts.path;
    this.details = opts.details ?? [message];
  }
}

export function isTrellisError(err: unknown): err is TrellisError {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('TRELLIS_ERR_');
}
