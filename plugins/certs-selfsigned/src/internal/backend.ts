import type { CaState, RootRotationPhase } from './ca-store.ts';

/**
 * Where the CA state lives: a state directory (dir-backend.ts) or a Kubernetes Secret (secret-backend.ts).
 * Both hold the same three CAs (issuing, staged next root, previous root) and the same rotation steps.
 */
export interface CaBackend {
  /** Where, for messages and logs (a path, or `secret ns/name`). */
  readonly where: string;
  /** Loads the state; with `create`, a missing CA is created first, once, even with racing replicas. */
  loadOrCreate(create: boolean): Promise<CaState & { created: boolean }>;
  load(): Promise<CaState>;
  /** Changes whenever the stored state changes (another process rotated). */
  version(): Promise<string>;
  rotate(phase: RootRotationPhase): Promise<void>;
}
