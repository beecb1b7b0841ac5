/**
 * The file source: a directory of the YAML `kubectl apply` takes. The first full read replaces the source's
 * objects; afterwards file-system events (debounced) trigger a rescan that re-reads only files whose stamp
 * changed and applies only the difference. Editors' atomic saves (write temp + rename) show up as a new
 * inode; temp dot-files are skipped. When an object is defined in several files, the first file (by path)
 * wins and the duplicate is reported.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyOf, objectKeyString } from '@trellis/plugin-sdk';
import type { KubeObject, Logger, ObjectOrigin, Readiness, SourcePlugin, SourceSink } from '@trellis/plugin-sdk';
import { parseManifest } from './parse.ts';
import { scanDir } from './scan.ts';
import type { FileStamp } from './scan.ts';

export interface FileSourceOptions {
  readonly dir: string;
  readonly watch: boolean;
  readonly debounceMs: number;
  /** Longest a burst of events may postpone a rescan (a trailing debounce alone never fires during churn). */
  readonly debounceMaxMs?: number;
  /**
   * While watching, also rescan this often (0 = never): recursive fs.watch on Linux can miss a file replaced
   * by rename (editors' atomic saves), and a rescan only re-reads files whose stamp changed.
   */
  readonly resyncMs?: number;
  readonly sink: SourceSink;
  readonly logger: Logger;
  /** Name used in origins (the plugin name). */
  readonly source?: string;
  /** Poll interval when recursive fs.watch is unavailable. */
  readonly pollMs?: number;
}

interface FileState {
  stamp: FileStamp;
  text: string;
  objects: Map<string, { obj: KubeObject; origin: ObjectOrigin }>;
}

type Entry = { obj: KubeObject; origin: ObjectOrigin };

export class FileSource implements SourcePlugin {
  private readonly files = new Map<string, FileState>();
  /** The objects this source currently holds, by key (after duplicate resolution). */
  private current = new Map<string, Entry>();
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncer: NodeJS.Timeout | undefined;
  /** When the first event of the pending burst arrived. */
  private burstStart = 0;
  private queue: Promise<void> = Promise.resolve();
  /** The first full read succeeded (until then the store holds none of this source's objects). */
  private synced = false;
  /** Why the first full read failed, while it has not succeeded. */
  private syncProblem: string | undefined;
  private stopped = false;
  /** Counters for tests and the benchmark. */
  readonly stats = { scans: 0, filesRead: 0, applied: 0, deleted: 0 };

  constructor(private readonly opts: FileSourceOptions) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.enqueue(() => this.sync(true));
    // A failed first read leaves the source not ready; watching (or polling) retries it.
    if (this.opts.watch && !this.stopped) this.startWatching();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poller) clearInterval(this.poller);
    if (this.resyncer) clearInterval(this.resyncer);
    if (this.timer) clearTimeout(this.timer);
    this.poller = this.timer = this.resyncer = undefined;
  }

  readiness(): Readiness {
    if (this.synced) return { ready: true };
    return { ready: false, reason: this.syncProblem ? `first read of ${this.opts.dir} failed: ${this.syncProblem}` : `first read of ${this.opts.dir} not done` };
  }

  /** Resolves once every pending rescan has run (tests and benchmarks). */
  async settled(): Promise<void> {
    await this.queue;
  }

  /** Forces a rescan now (what a watch event does after the debounce). */
  rescan(): Promise<void> {
    return this.enqueue(() => this.sync(!this.synced));
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      if (!this.synced) this.syncProblem = (err as Error).message;
      this.opts.logger.error('file source rescan failed', { dir: this.opts.dir, err: (err as Error).message });
    });
    return this.queue;
  }

  private startWatching(): void {
    const resync = this.opts.resyncMs ?? 0;
    if (resync > 0) {
      this.resyncer = setInterval(() => void this.rescan(), resync);
      this.resyncer.unref();
    }
    try {
      this.watcher = watch(this.opts.dir, { recursive: true }, () => this.schedule());
      this.watcher.on('error', (err) => {
        this.opts.logger.warn('watch failed; polling instead', { dir: this.opts.dir, err: err.message });
        this.watcher?.close();
        this.watcher = undefined;
        this.startPolling();
      });
    } catch (err) {
      this.opts.logger.warn('recursive watch unavailable; polling instead', { dir: this.opts.dir, err: (err as Error).message });
      this.startPolling();
    }
  }

  private startPolling(): void {
    if (this.stopped || this.poller) return;
    this.poller = setInterval(() => void this.rescan(), this.opts.pollMs ?? Math.max(1000, this.opts.debounceMs * 10));
    this.poller.unref();
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.timer) {
      // Keep postponing while events come, but never past the burst's maximum delay.
      if (now - this.burstStart >= (this.opts.debounceMaxMs ?? this.opts.debounceMs * 5)) return;
      clearTimeout(this.timer);
    } else this.burstStart = now;
    const wait = Math.min(this.opts.debounceMs, Math.max(0, this.burstStart + (this.opts.debounceMaxMs ?? this.opts.debounceMs * 5) - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rescan();
    }, wait);
  }

  private async sync(initial: boolean): Promise<void> {
    if (this.stopped && !initial) return;
    this.stats.scans++;
    const { sink } = this.opts;
    let stamps: Map<string, FileStamp>;
    try {
      stamps = await scanDir(this.opts.dir);
    } catch (err) {
      const message = `cannot read directory: ${(err as Error).message}`;
      if (!this.synced) this.syncProblem = message;
      sink.reportError({ file: this.opts.dir, message });
      return;
    }
    const touched = new Set<string>();
    for (const file of [...this.files.keys()])
      if (!stamps.has(file)) {
        this.files.delete(file);
        sink.clearErrors(file);
        touched.add(file);
      }
    for (const [file, stamp] of stamps) {
      const prev = this.files.get(file);
      if (prev && prev.stamp.size === stamp.size && prev.stamp.mtimeMs === stamp.mtimeMs && prev.stamp.ino === stamp.ino) continue;
      let text: string;
      try {
        text = await readFile(join(this.opts.dir, file), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile: the next event rescans
        sink.clearErrors(file);
        sink.reportError({ file, message: `cannot read file: ${(err as Error).message}` });
        continue;
      }
      this.stats.filesRead++;
      if (prev && prev.text === text) {
        prev.stamp = stamp;
        continue;
      }
      sink.clearErrors(file);
      const parsed = parseManifest(text, file);
      for (const p of parsed.problems) sink.reportError({ file, ...(p.line !== undefined && { line: p.line }), message: p.message });
      const objects = new Map<string, Entry>();
      for (const { obj, line } of parsed.objects) {
        const key = objectKeyString(keyOf(obj));
        if (objects.has(key)) sink.reportError({ file, line, message: `${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name} is defined twice in this file; the first definition is used` });
        else objects.set(key, { obj, origin: { source: this.opts.source ?? 'file', file, line } });
      }
      this.files.set(file, { stamp, text, objects });
      touched.add(file);
    }
    this.applyDifference(initial, touched);
    this.synced = true;
    this.syncProblem = undefined;
  }

  private applyDifference(initial: boolean, touched: ReadonlySet<string>): void {
    const { sink } = this.opts;
    const next = new Map<string, Entry>();
    for (const file of [...this.files.keys()].sort())
      for (const [key, e] of this.files.get(file)?.objects ?? []) {
        const first = next.get(key);
        if (first) {
          if (touched.has(file)) sink.reportError({ file, ...(e.origin.line !== undefined && { line: e.origin.line }), message: `${e.obj.kind} ${e.obj.metadata.namespace ?? ''}/${e.obj.metadata.name} is also defined in ${first.origin.file}; that definition is used` });
        } else next.set(key, e);
      }
    if (initial) {
      sink.replaceAll([...next.values()]);
      this.stats.applied += next.size;
    } else {
      for (const [key, e] of this.current)
        if (!next.has(key)) {
          sink.delete(keyOf(e.obj), e.origin);
          this.stats.deleted++;
        }
      for (const [key, e] of next) {
        const prev = this.current.get(key);
        if (prev && prev.origin.file === e.origin.file && prev.origin.line === e.origin.line && (prev.obj === e.obj || JSON.stringify(prev.obj) === JSON.stringify(e.obj))) continue;
        sink.apply(e.obj, e.origin);
        this.stats.applied++;
      }
    }
    this.current = next;
  }
}
