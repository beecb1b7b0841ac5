import { load, loadOrCreate, rotateRoot, stateVersion, type CaOptions } from './ca-store.ts';
import type { CaBackend } from './backend.ts';

/** The CA state in a directory shared by the CLI and the controller (ca-store.ts). */
export function dirBackend(dir: string, opts: CaOptions): CaBackend {
  return {
    where: dir,
    loadOrCreate: (create) => loadOrCreate(dir, opts, create),
    load: () => load(dir),
    version: () => stateVersion(dir),
    rotate: (phase) => rotateRoot(dir, phase, opts),
  };
}
