import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { ErrorCodes, TrellisError, type ExtensionPoint, type ServiceRef } from '@trellis/plugin-sdk';

/** One contribution to an extension point, with who made it (for conflict messages). */
export interface Contribution<T> {
  readonly value: T;
  /** Instance name of the contributing plugin, or a core part's name. */
  readonly from: string;
  /** `plugins.proxies[1]` or `core`. */
  readonly origin: string;
}

/**
 * The DI container behind the SDK's service refs and extension points. Tokens are the refs' explicit string
 * ids, so nothing depends on decorator metadata (vitest's esbuild emits none).
 *
 * What tsyringe does here: each mesh gets a child of the root container and each plugin a child of the mesh's,
 * where the kernel registers that plugin's own scoped services (its logger, its identity) under the same core
 * tokens, so one `deps: { logger: coreServices.logger }` resolves to the plugin's own logger through the
 * hierarchy; services a plugin provides go to the mesh container for its dependents; extension points are
 * multi-registrations read with `resolveAll`.
 */
export class ServiceContainer {
  readonly #c: DependencyContainer;

  constructor(parent?: ServiceContainer) {
    this.#c = parent ? parent.#c.createChildContainer() : rootContainer.createChildContainer();
  }

  /** Single slot: a second registration of one ref in one container is an error, not a silent override. */
  register<T>(ref: ServiceRef<T>, value: T): void {
    if (this.#c.isRegistered(ref.id, false))
      throw new TrellisError(ErrorCodes.SERVICE_ALREADY_REGISTERED, `service "${ref.id}" is already registered`);
    this.#c.register(ref.id, { useValue: value });
  }

  has(ref: ServiceRef<unknown>): boolean {
    return this.#c.isRegistered(ref.id, true);
  }

  resolve<T>(ref: ServiceRef<T>): T {
    if (!this.#c.isRegistered(ref.id, true)) throw new TrellisError(ErrorCodes.SERVICE_NOT_FOUND, `service "${ref.id}" is not registered`);
    return this.#c.resolve<T>(ref.id);
  }

  /**
   * Adds a contribution. A second one to a single slot, or one whose key another already holds, is an
   * `EXTENSION_CONFLICT` naming both contributors.
   */
  contribute<T>(point: ExtensionPoint<T>, c: Contribution<T>): void {
    const existing = this.contributions(point);
    const clash =
      point.cardinality === 'single'
        ? existing[0]
        : point.keyOf && existing.find((e) => point.keyOf?.(e.value) === point.keyOf?.(c.value));
    if (clash) {
      const what = point.cardinality === 'single' ? `"${point.id}" takes one provider` : `${point.keyName ?? 'key'} "${point.keyOf?.(c.value)}" is already claimed`;
      throw new TrellisError(ErrorCodes.EXTENSION_CONFLICT, `${c.origin}: ${what}: "${clash.from}" (${clash.origin}) and "${c.from}" both contribute to ${point.id}`, {
        path: c.origin,
      });
    }
    this.#c.register(point.id, { useValue: c });
  }

  contributions<T>(point: ExtensionPoint<T>): readonly Contribution<T>[] {
    return this.#c.isRegistered(point.id, true) ? this.#c.resolveAll<Contribution<T>>(point.id) : [];
  }

  /** The values contributed to a multiple slot, in contribution (start) order. */
  all<T>(point: ExtensionPoint<T>): readonly T[] {
    return this.contributions(point).map((c) => c.value);
  }

  /** The one value of a single slot, if contributed. */
  one<T>(point: ExtensionPoint<T>): T | undefined {
    return this.contributions(point)[0]?.value;
  }

  child(): ServiceContainer {
    return new ServiceContainer(this);
  }
}
