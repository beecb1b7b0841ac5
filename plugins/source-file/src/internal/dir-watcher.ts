import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';

/**
 * One non-recursive fs.watch per directory, kept in step with the directories each scan walks.
 *
 * Why not `fs.watch(root, { recursive: true })`: on Linux, Node 20 emulates it with one watch per *file*
 * inode, so after a file is replaced by rename (an editor's atomic save) the new inode is never watched and
 * later in-place writes go unseen; and a root that is removed and recreated is never watched again. A watch
 * on a directory reports every change to its entries (create, write, rename, delete) whatever their inode.
 */
export class DirWatcher {
  private readonly watchers = new Map<string, { ino: number; watcher: FSWatcher }>();
  private closed = false;

  constructor(
    private readonly onEvent: () => void,
    /** A watch failed (e.g. the inotify limit): the caller falls back to polling. */
    private readonly onError: (dir: string, err: Error) => void,
  ) {}

  /** Watches exactly `dirs` (absolute path to inode); a directory whose inode changed is watched anew. */
  update(dirs: ReadonlyMap<string, number>): void {
    if (this.closed) return;
    for (const [dir, w] of this.watchers)
      if (dirs.get(dir) !== w.ino) {
        w.watcher.close();
        this.watchers.delete(dir);
      }
    for (const [dir, ino] of dirs) {
      if (this.watchers.has(dir)) continue;
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, () => this.onEvent());
      } catch (err) {
        // Vanished since the scan: the event that removed it already scheduled a rescan.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.onError(dir, err as Error);
        return;
      }
      watcher.on('error', (err) => {
        this.forget(dir, watcher);
        // A watched directory that disappears ends its watch; the rescan that follows settles the rest.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EPERM') this.onEvent();
        else this.onError(dir, err);
      });
      this.watchers.set(dir, { ino, watcher });
    }
  }

  /** How many directories are watched (tests). */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Drops every watch (the root is gone); `update` re-arms them. */
  clear(): void {
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private forget(dir: string, watcher: FSWatcher): void {
    watcher.close();
    if (this.watchers.get(dir)?.watcher === watcher) this.watchers.delete(dir);
  }
}
