/**
 * The file source: a directory of the YAML `kubectl apply` takes. The first full read replaces the source's
 * objects; afterwards file-system events (debounced) trigger a rescan that re-reads only files whose stamp
 * changed and applies only the difference.
 *
 * Last good state: a file that fails (a syntax error, too large, unreadable) keeps the objects of its last
 * good version and its problem is reported with file and line; a directory that vanishes or cannot be listed
 * keeps everything and makes the source not ready with the reason, until it is back (then the watch is
 * re-armed). When an object is defined in several files, the first file (by path) wins and every other
 * definition is reported, whichever file changed last.
 */
import { join } from 'node:path';
import { keyOf, objectKeyString } from '@trellis/plugin-sdk';
import type { KubeObject, Logger, ObjectOrigin, Readiness, SourcePlugin, SourceSink } from '@trellis/plugin-sdk';
import { DirWatcher } from './dir-watcher.ts';
import { parseManifest } from './parse.ts';
import { readLimited } from './read-limited.ts';
import type { ReadResult } from './read-limited.ts';
import { isUnder, sameStamp, scanDir } from './scan.ts';
import type { FileStamp, ScanResult } from './scan.ts';

/** Default largest manifest file read (bytes). */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

export interface FileSourceOptions {
  readonly dir: string;
  readonly watch: boolean;
  readonly debounceMs: number;
  /** Longest a burst of events may postpone a rescan (a trailing debounce alone never fires during churn). */
  readonly debounceMaxMs?: number;
  /** While watching, also rescan this often (0 = never), for events the OS missed; only changed files are read. */
  readonly resyncMs?: number;
  /** Largest file read, in bytes (default 1 MiB); a larger file is reported and keeps its last good objects. */
  readonly maxFileBytes?: number;
  readonly sink: SourceSink;
  readonly logger: Logger;
  /** Name used in origins (the plugin name). */
  readonly source?: string;
  /** Poll interval when directories cannot be watched. */
  readonly pollMs?: number;
  /** How often to look for a vanished directory's return (default 250 ms). */
  readonly revisitMs?: number;
  /** Reads one file (default: `readLimited`); fault-injection tests replace it. */
  readonly read?: (path: string, maxBytes: number) => Promise<ReadResult>;
}

interface Problem {
  readonly line?: number;
  readonly message: string;
}

type Entry = { obj: KubeObject; origin: ObjectOrigin };

/**
 * File times are kept at the kernel's tick (1-10 ms): two same-size writes within one tick leave the stamp
 * unchanged. A file modified this close to when it was read is read again at the next scan ("racy git").
 */
const RACY_MS = 20;

interface FileState {
  stamp: FileStamp;
  /** When the last read started (Date.now()). */
  readAtMs: number;
  /** The text last parsed (undefined when the last attempt could not read it). */
  text: string | undefined;
  /** The file's last good objects. */
  objects: Map<string, Entry>;
  /** The file's current problems (reading, parsing, in-file duplicates). */
  problems: Problem[];
}

const nameOf = (o: KubeObject): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class FileSource implements SourcePlugin {
  private readonly files = new Map<string, FileState>();
  /** The objects this source currently holds, by key (after duplicate resolution). */
  private current = new Map<string, Entry>();
  /** Problems last reported per file (the directory's own problems under its path), to report only changes. */
  private reported = new Map<string, string>();
  private watcher: DirWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncer: NodeJS.Timeout | undefined;
  private revisiter: NodeJS.Timeout | undefined;
  /** When the first event of the pending burst arrived. */
  private burstStart = 0;
  private queue: Promise<void> = Promise.resolve();
  /** A full read has succeeded (the first one replaces the source's objects). */
  private synced = false;
  /** Why the source cannot see its directory now (the last good state is kept meanwhile). */
  private problem: string | undefined;
  private stopped = false;
  /** Counters for tests and the benchmark. */
  readonly stats = { scans: 0, filesRead: 0, applied: 0, deleted: 0 };

  constructor(private readonly opts: FileSourceOptions) {}

  async start(): Promise<void> {
    this.stopped = false;
    if (this.opts.watch) this.watcher = new DirWatcher(() => this.schedule(), (dir, err) => this.watchFailed(dir, err));
    await this.enqueue(() => this.sync());
    if (this.opts.watch && !this.stopped) {
      const resync = this.opts.resyncMs ?? 0;
      if (resync > 0) {
        this.resyncer = setInterval(() => void this.rescan(), resync);
        this.resyncer.unref();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    for (const t of [this.poller, this.resyncer, this.revisiter]) if (t) clearInterval(t);
    if (this.timer) clearTimeout(this.timer);
    this.poller = this.timer = this.resyncer = this.revisiter = undefined;
  }

  readiness(): Readiness {
    if (this.problem !== undefined) return { ready: false, reason: this.problem };
    return this.synced ? { ready: true } : { ready: false, reason: `first read of ${this.opts.dir} not done` };
  }

  /** Resolves once every pending rescan has run (tests and benchmarks). */
  async settled(): Promise<void> {
    await this.queue;
  }

  /** Forces a rescan now (what a watch event does after the debounce). */
  rescan(): Promise<void> {
    return this.enqueue(() => this.sync());
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      // Not expected (input problems are reported per file); never leave the source looking healthy.
      this.problem = `rescan of ${this.opts.dir} failed: ${(err as Error).message}; keeping the last good state`;
      this.opts.logger.error('file source rescan failed', { dir: this.opts.dir, err: (err as Error).message });
    });
    return this.queue;
  }

  private watchFailed(dir: string, err: Error): void {
    this.opts.logger.warn('cannot watch; polling instead', { dir, err: err.message });
    this.watcher?.close();
    this.watcher = undefined;
    if (this.stopped || this.poller) return;
    this.poller = setInterval(() => void this.rescan(), this.opts.pollMs ?? Math.max(1000, this.opts.debounceMs * 10));
    this.poller.unref();
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = Date.now();
    const max = this.opts.debounceMaxMs ?? this.opts.debounceMs * 5;
    if (this.timer) {
      // Keep postponing while events come, but never past the burst's maximum delay.
      if (now - this.burstStart >= max) return;
      clearTimeout(this.timer);
    } else this.burstStart = now;
    const wait = Math.min(this.opts.debounceMs, Math.max(0, this.burstStart + max - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rescan();
    }, wait);
  }

  /** The directory cannot be listed: keep everything, say why, and look for its return. */
  private unavailable(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : 'cannot be read';
    const kept = this.synced ? `keeping the last good state (${this.current.size} objects)` : 'nothing read yet';
    const reason = `${this.opts.dir} ${what} (${err.message}); ${kept}`;
    if (reason !== this.problem) this.opts.logger.warn('file source directory unavailable', { dir: this.opts.dir, reason });
    this.problem = reason;
    this.report(new Map([[this.opts.dir, [{ message: `cannot read directory: ${err.message}; ${kept}` }]]]));
    this.watcher?.clear();
    if (this.opts.watch && !this.stopped && !this.revisiter) {
      this.revisiter = setInterval(() => void this.rescan(), this.opts.revisitMs ?? 250);
      this.revisiter.unref();
    }
  }

  private async sync(): Promise<void> {
    if (this.stopped && this.synced) return;
    this.stats.scans++;
    let scan: ScanResult;
    try {
      scan = await scanDir(this.opts.dir);
    } catch (err) {
      this.unavailable(err as Error);
      return;
    }
    if (this.revisiter) clearInterval(this.revisiter);
    this.revisiter = undefined;
    this.watcher?.update(scan.dirs);

    for (const file of [...this.files.keys()])
      if (!scan.files.has(file) && !isUnder(file, scan.unreadable)) this.files.delete(file);
    for (const [file, stamp] of scan.files) {
      const prev = this.files.get(file);
      if (prev && sameStamp(prev.stamp, stamp) && stamp.mtimeMs < prev.readAtMs - RACY_MS) continue;
      const next = await this.readFile(file, stamp, prev);
      if (next) this.files.set(file, next);
    }
    const dirProblems = new Map<string, Problem[]>(scan.unreadable.map((d) => [d, [{ message: 'cannot list this directory; its files keep their last good objects' }]]));
    dirProblems.set(this.opts.dir, []);
    this.applyDifference(dirProblems);
    this.synced = true;
    // Ready again only once what the directory holds now is applied.
    if (this.problem !== undefined) this.opts.logger.info('file source directory readable again', { dir: this.opts.dir });
    this.problem = undefined;
  }

  /** The file's next state, or undefined to leave it as it is (it vanished since the scan). */
  private async readFile(file: string, stamp: FileStamp, prev: FileState | undefined): Promise<FileState | undefined> {
    const readAtMs = Date.now();
    const keep = (message: string): FileState => ({
      stamp,
      readAtMs,
      text: undefined,
      objects: prev?.objects ?? new Map(),
      problems: [{ message: prev ? `${message}; keeping its last good objects (${prev.objects.size})` : message }],
    });
    const max = this.opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (stamp.size > max) return keep(`file is ${stamp.size} bytes, larger than maxFileSize (${max} bytes); not read`);
    let read;
    try {
      read = await (this.opts.read ?? readLimited)(join(this.opts.dir, file), max);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // removed meanwhile: the next event rescans
      return keep(`cannot read file: ${(err as Error).message}`);
    }
    if ('tooLarge' in read) return keep(`file is ${read.tooLarge} bytes or more, larger than maxFileSize (${max} bytes); not read`);
    if ('notAFile' in read) return keep('not a regular file; not read');
    this.stats.filesRead++;
    const { text } = read;
    if (prev && prev.text === text) return { ...prev, stamp, readAtMs };
    const parsed = parseManifest(text, file);
    const problems: Problem[] = [];
    if (parsed.problems.length > 0 && prev) {
      // A file that does not parse keeps its last good objects (a missing brace must not delete a policy).
      const suffix = `; the file keeps its last good objects (${prev.objects.size})`;
      for (const p of parsed.problems) problems.push({ ...(p.line !== undefined && { line: p.line }), message: p.message + suffix });
      return { stamp, readAtMs, text, objects: prev.objects, problems };
    }
    // First sight of a file: the documents that parse are used; the others are reported.
    for (const p of parsed.problems) problems.push({ ...(p.line !== undefined && { line: p.line }), message: p.message });
    const objects = new Map<string, Entry>();
    for (const { obj, line } of parsed.objects) {
      const key = objectKeyString(keyOf(obj));
      if (objects.has(key)) problems.push({ line, message: `${nameOf(obj)} is defined twice in this file; the first definition is used` });
      else objects.set(key, { obj, origin: { source: this.opts.source ?? 'file', file, line } });
    }
    return { stamp, readAtMs, text, objects, problems };
  }

  private applyDifference(extraProblems: Map<string, Problem[]>): void {
    const { sink } = this.opts;
    const next = new Map<string, Entry>();
    const problems = new Map<string, Problem[]>(extraProblems);
    for (const [file, st] of this.files) problems.set(file, [...st.problems]);
    for (const file of [...this.files.keys()].sort())
      for (const [key, e] of this.files.get(file)?.objects ?? []) {
        const first = next.get(key);
        if (!first) {
          next.set(key, e);
          continue;
        }
        problems.get(file)?.push({
          ...(e.origin.line !== undefined && { line: e.origin.line }),
          message: `${nameOf(e.obj)} is also defined in ${first.origin.file}${first.origin.line !== undefined ? ` (line ${first.origin.line})` : ''}; that definition is used`,
        });
      }
    if (!this.synced) {
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
    // Files that no longer exist: clear what was reported for them.
    for (const file of this.reported.keys()) if (!problems.has(file)) problems.set(file, []);
    this.report(problems);
  }

  /** Makes the sink's errors for each named file exactly `problems` (re-reporting only files that changed). */
  private report(problems: ReadonlyMap<string, readonly Problem[]>): void {
    const { sink } = this.opts;
    for (const [file, list] of problems) {
      const sig = JSON.stringify(list);
      if ((this.reported.get(file) ?? '[]') === sig) continue;
      sink.clearErrors(file);
      for (const p of list) sink.reportError({ file, ...(p.line !== undefined && { line: p.line }), message: p.message });
      if (list.length === 0) this.reported.delete(file);
      else this.reported.set(file, sig);
    }
  }
}
