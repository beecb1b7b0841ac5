/**
 * `use: file` — a directory of Kubernetes-style YAML/JSON as a mesh source (the embedded default).
 * Config: `dir` (relative to the config file), `watch` (default true), `debounce` (100ms), `debounceMax` (200ms),
 * `resync` (5s), `maxFileSize` (1 MiB).
 */
import { definePlugin, s } from '@trellis/plugin-sdk';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_MAX_FILE_BYTES, FileSource } from './internal/file-source.ts';

export { DEFAULT_MAX_FILE_BYTES, FileSource } from './internal/file-source.ts';
export type { FileSourceOptions } from './internal/file-source.ts';
export type { ReadResult } from './internal/read-limited.ts';
export { MAX_DEPTH, parseManifest } from './internal/parse.ts';

export const fileSourceConfig = s.object({
  dir: s.path({ mustBe: 'directory', description: 'read `*.yaml`, `*.yml`, `*.json` under it recursively (relative to the config file)' }),
  watch: s.default(s.boolean({ description: 'apply edits, new files, deletions and renames while running' }), true),
  debounce: s.default(s.duration({ description: 'quiet time after file events before the changed files are re-read' }), 100),
  debounceMax: s.default(s.duration({ description: 'longest a burst of file events may postpone a re-read' }), 200),
  resync: s.default(
    s.duration({
      description: 'periodic rescan while watching (`0s` = off): recursive fs.watch on Linux can miss a file replaced by rename; only files whose size/mtime/inode changed are re-read',
    }),
    5000,
  ),
  maxFileSize: s.default(
    s.number({ integer: true, min: 1, description: 'largest manifest file read, in bytes; a larger file is reported and keeps its last good objects' }),
    DEFAULT_MAX_FILE_BYTES,
  ),
});

export default definePlugin({
  name: 'file',
  kind: 'source',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: 'Reads Kubernetes-style manifests from a directory and watches it for changes.',
  configSchema: fileSourceConfig,
  create(ctx) {
    const dir = isAbsolute(ctx.config.dir) ? ctx.config.dir : resolve(ctx.baseDir, ctx.config.dir);
    return new FileSource({
      dir,
      watch: ctx.config.watch,
      debounceMs: ctx.config.debounce,
      debounceMaxMs: Math.max(ctx.config.debounce, ctx.config.debounceMax),
      resyncMs: ctx.config.resync,
      maxFileBytes: ctx.config.maxFileSize,
      sink: ctx.sink,
      logger: ctx.logger,
      source: 'file',
    });
  },
});
