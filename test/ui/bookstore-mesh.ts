// A controller on the file source over a copy of examples/bookstore, for the mesh page tests.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import fileSource from '@trellis/plugin-source-file';
import envoy from '@trellis/plugin-proxy-envoy';

export const bookstoreDir = fileURLToPath(new URL('../../examples/bookstore', import.meta.url));

export interface FileMesh {
  readonly mesh: TestMesh;
  /** The mesh's directory (a copy the test may edit). */
  readonly dir: string;
  stop(): Promise<void>;
}

/** Starts the real core with the file source watching `dir` (a fresh copy of `from`, default examples/bookstore). */
export async function startFileMesh(opts: { from?: string; fill?: (dir: string) => void } = {}): Promise<FileMesh> {
  const work = mkdtempSync(join(tmpdir(), 'trellis-ui-'));
  const dir = join(work, 'mesh');
  if (opts.from !== undefined || !opts.fill) cpSync(opts.from ?? bookstoreDir, dir, { recursive: true });
  else mkdirSync(dir);
  opts.fill?.(dir);
  const mesh = await startTestMesh({
    plugins: [
      { definition: selfsigned, config: { stateDir: join(work, 'ca') } },
      { definition: fileSource, config: { dir, debounce: '20ms', resync: '500ms' } },
      { definition: envoy },
    ],
    settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
  });
  return {
    mesh,
    dir,
    stop: async () => {
      await mesh.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
