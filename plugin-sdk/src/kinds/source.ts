import type { KubeObject, ObjectKey, ObjectOrigin, SourceError } from '../mesh/objects.ts';
import type { Lifecycle } from './lifecycle.ts';

/**
 * Where a source writes. Each source has its own sink; the core tags what it writes with the source's name,
 * validates it, and keeps the last good state when an object is invalid. @public
 */
export interface SourceSink {
  /** Adds or replaces an object. */
  apply(obj: KubeObject, origin?: ObjectOrigin): void;
  delete(key: ObjectKey, origin?: ObjectOrigin): void;
  /** Makes this source's objects exactly `objects` (initial list, relist); the store emits only differences. */
  replaceAll(objects: readonly { obj: KubeObject; origin?: ObjectOrigin }[]): void;
  /** Reports a problem not tied to one valid object (an unparsable document, an unreadable file). */
  reportError(err: Omit<SourceError, 'source'>): void;
  /** Clears reported errors for `file` (or every error of this source when omitted). */
  clearErrors(file?: string): void;
}

/** A source plugin writes objects through the `sink` it receives in `create`; ready once synced. @public */
export type SourcePlugin = Lifecycle;
