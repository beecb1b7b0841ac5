import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const MANIFEST = /\.(ya?ml|json)$/i;

/** A cheap change signature: size, mtime and inode (an atomic rename changes the inode). */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/**
 * Every manifest under `root` (recursively, skipping dot-files and dot-directories such as editors' temp files).
 * An unreadable `root` throws: an empty result would read as "the mesh has no objects".
 */
export async function scanDir(root: string): Promise<Map<string, FileStamp>> {
  const out = new Map<string, FileStamp>();
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root) throw err;
      return; // vanished while walking: the next scan settles it
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && MANIFEST.test(e.name)) {
        try {
          const st = await stat(full);
          out.set(relative(root, full).split(sep).join('/'), { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
        } catch {
          // deleted between readdir and stat
        }
      }
    }
  }
  await walk(root);
  return out;
}
