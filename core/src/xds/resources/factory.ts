import { createHash } from 'node:crypto';
import { ErrorCodes, TrellisError } from '@trellis/plugin-sdk';
import type { XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import { messageType } from './protos.ts';
import { walk, type MessageRule } from './walk.ts';

export interface ResourceFactoryOptions {
  /** Reject objects with any strict-check problem (unknown keys etc.) instead of encoding what is valid. */
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
 * a hash of the bytes, so equal state gives equal versions across restarts and replicas.
 * Throws a TrellisError naming the resource and the field when the object cannot be encoded.
 */
export function createResourceFactory(options: ResourceFactoryOptions = {}): XdsResourceFactory {
  return {
    create(typeUrl: string, name: string, value: Record<string, unknown>): XdsResource {
      const type = messageType(typeUrl);
      const { problems, value: normal } = walk(type, value, options.rules ? { rules: options.rules } : {});
      const fatal = options.strict ? problems : problems.filter((p) => !p.includes(' has no field '));
      if (fatal.length > 0) throw invalid(typeUrl, name, fatal);
      let body: Uint8Array;
      try {
        body = ownBytes(type.encode(type.fromObject(normal)).finish());
      } catch (err) {
        throw invalid(typeUrl, name, [(err as Error).message]);
      }
      return Object.freeze({ typeUrl, name, version: contentVersion(body), body, value: Object.freeze(value) });
    },
  };
}

function invalid(typeUrl: string, name: string, problems: string[]): TrellisError {
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return new TrellisError(ErrorCodes.OBJECT_INVALID, `xDS resource ${typeUrl} "${name}" cannot be encoded: ${shown}`, {
    path: name,
    details: problems,
  });
}
