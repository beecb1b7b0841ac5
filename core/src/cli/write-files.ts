import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BootstrapFile } from '@trellis/plugin-sdk';

/**
 * Writes each file atomically (temp file, then rename), so a reader — Envoy, or grpc-js-xds re-reading its
 * certificate — never sees a half-written file. Key files get their mode before any content lands.
 */
export async function writeFilesAtomically(dir: string, files: readonly BootstrapFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of files) {
    const target = join(dir, f.path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, '', { mode: f.mode });
    await chmod(tmp, f.mode);
    await writeFile(tmp, f.content, { mode: f.mode });
    await rename(tmp, target);
    written.push(target);
  }
  return written;
}
