import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { ErrorCodes, TrellisError, type ServiceRef } from '@trellis/plugin-sdk';

/**
 * The DI container behind the SDK's service refs. Tokens are the refs' explicit string ids, so nothing
 * depends on decorator metadata (vitest's esbuild emits none). Each mesh gets its own child of tsyringe's
 * root container, and each plugin a child of that, so tests can run several meshes in one process.
 */
export class ServiceContainer {
  readonly #c: DependencyContainer;

  constructor(parent?: ServiceContainer) {
    this.#c = parent ? parent.#c.createChildContainer() : rootContainer.createChildContainer();
  }

  /** Single slot: a second registration of one ref is an error, not a silent override. */
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

  child(): ServiceContainer {
    return new ServiceContainer(this);
  }
}
