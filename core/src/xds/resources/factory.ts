import { createHash } from 'node:crypto';
import { ErrorCodes, TrellisError, TypeUrls } from '@trellis/plugin-sdk';
import type { CreateOptions, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import { checkFields } from './fields.ts';
import { messageType } from './protos.ts';
import { walk, type MessageRule } from './walk.ts';

export interface ResourceFactoryOptions {
  /**
   * Also run the full strict walk (value types, enum names, well-known forms, `rules`) before encoding, and
   * reject on any problem. For tests and `trellis proxy-config validate`; production encodes with the cheap
   * per-type field check only.
   */
  strict?: boolean;
  rules?: readonly MessageRule[];
}

/**
 * Bytes that own their memory. protobufjs (like Buffer.allocUnsafe) carves small outputs out of shared 8 KiB
 * slabs; keeping such a slice alive keeps the whole slab, which at thousands of cached resources and responses
 * is most of the controller's heap. Long-lived encodings are copied out once.
 */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/** Content version: sha256 of the encoded bytes, base64url, 16 characters (96 bits). */
export function contentVersion(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 16);
}

/**
 * Encodes each resource object once (protobufjs `fromObject` + `encode`, Any via `'@type'`); the version is
 * a hash of the bytes, so equal state gives equal versions across restarts and replicas. Before encoding,
 * every key must be a field of its message type (`checkFields`: a per-type table lookup, no copy), because
 * `fromObject` silently drops what it does not know. A Secret that holds key material must name its audience.
 * Throws a TrellisError naming the resource type, its name and the field path.
 */
export function createResourceFactory(options: ResourceFactoryOptions = {}): XdsResourceFactory {
  const strictRules = options.rules ? { rules: options.rules } : {};
  return {
    create(typeUrl: string, name: string, input: object, createOptions: CreateOptions = {}): XdsResource {
      const value = input as Record<string, unknown>;
      const type = messageType(typeUrl);
      if (options.strict) {
        const problems = walk(type, value, strictRules).problems;
        if (problems.length > 0) throw invalid(typeUrl, name, problems);
      }
      const problems = checkFields(type, value);
      if (problems.length > 0) throw invalid(typeUrl, name, problems);
      const { audience } = createOptions;
      if (typeUrl === TypeUrls.secret && audience === undefined && holdsKeyMaterial(value))
        throw invalid(typeUrl, name, ['$: holds key material (tls_certificate, session_ticket_keys or generic_secret) but names no audience']);
      let body: Uint8Array;
      try {
        body = ownBytes(type.encode(type.fromObject(value)).finish());
      } catch (err) {
        throw invalid(typeUrl, name, [(err as Error).message]);
      }
      const version = contentVersion(body);
      return Object.freeze({ typeUrl, name, version, body, value: Object.freeze(value), ...(audience ? { audience: Object.freeze({ ...audience }) } : {}) });
    },
  };
}

/** A Secret's private parts: anything but a validation context (CA bundle and SAN matchers) is private. */
function holdsKeyMaterial(secret: Record<string, unknown>): boolean {
  return secret.tls_certificate != null || secret.session_ticket_keys != null || secret.generic_secret != null;
}

function invalid(typeUrl: string, name: string, problems: string[]): TrellisError {
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return new TrellisError(ErrorCodes.OBJECT_INVALID, `xDS resource ${typeUrl} "${name}" cannot be encoded: ${shown}`, {
    path: name,
    details: problems,
  });
}
