import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const MANIFEST = /\.(ya?ml|json)$/i;

/** A cheap change signature: size, mtime, ctime and inode (an atomic rename changes the inode). */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
}

export const sameStamp = (a: FileStamp, b: FileStamp): boolean =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

export interface ScanResult {
  /** Every manifest, by path relative to the root (`/`-separated). */
  readonly files: Map<string, FileStamp>;
  /** Every directory walked (absolute path, the root included) with its inode, for the watcher. */
  readonly dirs: Map<string, number>;
  /**
   * Relative directories (`''` never: the root throws instead) that exist but could not be listed: their files
   * are unknown this time, not deleted.
   */
  readonly unreadable: string[];
}

const rel = (root: string, full: string): string => relative(root, full).split(sep).join('/');

/**
 * Every manifest under `root` (recursively, skipping dot-files and dot-directories such as editors' temp files).
 * Throws when the root itself is missing, not a directory or unreadable: "no files" and "cannot see the files"
 * must not look alike.
 */
export async function scanDir(root: string): Promise<ScanResult> {
  const files = new Map<string, FileStamp>();
  const dirs = new Map<string, number>();
  const unreadable: string[] = [];
  const rootStat = await stat(root);
  if (!rootStat.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, scandir '${root}'`), { code: 'ENOTDIR' });
  async function walk(dir: string, ino: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root) throw err;
      // Vanished while walking: gone (its files are deleted). Anything else: unknown this time, keep them.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.push(rel(root, dir));
      return;
    }
    dirs.set(dir, ino);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (!e.isDirectory() && !(e.isFile() && MANIFEST.test(e.name))) continue;
      let st;
      try {
        st = await stat(full);
      } catch {
        continue; // deleted between readdir and stat
      }
      if (e.isDirectory()) await walk(full, st.ino);
      else files.set(rel(root, full), { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    }
  }
  await walk(root, rootStat.ino);
  // The root vanished or was replaced mid-walk: what was walked is not the directory's content.
  const after = await stat(root);
  if (after.ino !== rootStat.ino) throw Object.assign(new Error(`'${root}' was replaced during the scan`), { code: 'ECHANGED' });
  return { files, dirs, unreadable };
}

/** Whether `file` (relative) lies under one of the relative directories `dirs`. */
export const isUnder = (file: string, dirs: readonly string[]): boolean => dirs.some((d) => file.startsWith(`${d}/`));
