import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { objectKeyString, keyOf } from '@trellis/plugin-sdk';
import type { KubeObject, Logger, ObjectKey, ObjectOrigin, SourceError, SourceSink } from '@trellis/plugin-sdk';
import plugin, { FileSource, fileSourceConfig, parseManifest } from './index.ts';
import { recordRegistrations } from '@trellis/plugin-sdk/testing';
import { readLimited } from './internal/read-limited.ts';

/** A sink that keeps what a store would hold, plus every call, for assertions. */
class RecordingSink implements SourceSink {
  readonly objects = new Map<string, { obj: KubeObject; origin?: ObjectOrigin }>();
  readonly errors: Omit<SourceError, 'source'>[] = [];
  readonly ops: string[] = [];
  apply(obj: KubeObject, origin?: ObjectOrigin): void {
    this.ops.push(`apply ${obj.metadata.name}`);
    this.objects.set(objectKeyString(keyOf(obj)), { obj, ...(origin && { origin }) });
  }
  delete(key: ObjectKey): void {
    this.ops.push(`delete ${key.name}`);
    this.objects.delete(objectKeyString(key));
  }
  replaceAll(objects: readonly { obj: KubeObject; origin?: ObjectOrigin }[]): void {
    this.ops.push(`replaceAll ${objects.length}`);
    this.objects.clear();
    for (const o of objects) this.objects.set(objectKeyString(keyOf(o.obj)), o);
  }
  reportError(err: Omit<SourceError, 'source'>): void {
    this.errors.push(err);
  }
  clearErrors(file?: string): void {
    for (let i = this.errors.length - 1; i >= 0; i--) if (file === undefined || this.errors[i]?.file === file) this.errors.splice(i, 1);
  }
  names(): string[] {
    return [...this.objects.values()].map((o) => o.obj.metadata.name).sort();
  }
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const sa = (name: string, ns = 'demo') => `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;

let dir: string;
let sources: FileSource[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-file-source-'));
});
afterEach(async () => {
  for (const s of sources) s.stop();
  sources = [];
  await rm(dir, { recursive: true, force: true });
});

function source(sink: RecordingSink, watch = true): FileSource {
  const s = new FileSource({ dir, watch, debounceMs: 20, sink, logger: silent, pollMs: 50 });
  sources.push(s);
  return s;
}

describe('parseManifest', () => {
  it('reads multi-document YAML with line numbers and keeps going past an invalid document', () => {
    const text = [sa('one'), '---', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: [unclosed\n', '---', '# comment', sa('two'), '---', 'kind: Pod\nmetadata: {name: x}\n', '---', ''].join('\n');
    const r = parseManifest(text, 'a.yaml');
    expect(r.objects.map((o) => [o.obj.metadata.name, o.line])).toEqual([
      ['one', 1],
      ['two', 14],
    ]);
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]?.message).toMatch(/^invalid YAML \(line 12, column \d+\)/);
    expect(r.problems[0]?.line).toBe(8);
    expect(r.problems[1]).toEqual({ line: 21, message: 'apiVersion: is required' });
  });

  it('reports a repeated key in a YAML map with its position, and skips only that document', () => {
    const r = parseManifest(`${sa('a')}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b, name: c}\n`, 'a.yaml');
    expect(r.objects.map((o) => o.obj.metadata.name)).toEqual(['a']);
    expect(r.problems).toEqual([{ line: 7, message: 'invalid YAML (line 9, column 21): Map keys must be unique ("name"); document skipped' }]);
  });

  it('reads JSON objects, arrays and List documents', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a' } }] };
    expect(parseManifest(JSON.stringify(list), 'x.json').objects.map((o) => o.obj.metadata.name)).toEqual(['a']);
    expect(parseManifest('{', 'x.json').problems[0]?.message).toMatch(/^invalid JSON/);
  });
});

describe('FileSource', () => {
  it('reads *.yaml, *.yml and *.json recursively, skips other and dot files, and is ready after the first read', async () => {
    await mkdir(join(dir, 'sub/deeper'), { recursive: true });
    await writeFile(join(dir, 'a.yaml'), `${sa('a')}---\n${sa('b')}`);
    await writeFile(join(dir, 'sub/c.yml'), sa('c'));
    await writeFile(join(dir, 'sub/deeper/d.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'd', namespace: 'demo' } }));
    await writeFile(join(dir, 'notes.txt'), sa('ignored'));
    await writeFile(join(dir, '.a.yaml.swp'), sa('ignored2'));
    const sink = new RecordingSink();
    const s = source(sink, false);
    expect(s.readiness().ready).toBe(false);
    await s.start();
    expect(s.readiness()).toEqual({ ready: true });
    expect(sink.names()).toEqual(['a', 'b', 'c', 'd']);
    expect(sink.ops).toEqual(['replaceAll 4']);
    expect([...sink.objects.values()].find((o) => o.obj.metadata.name === 'b')?.origin).toEqual({ source: 'file', file: 'a.yaml', line: 7 });
  });

  it('is not ready while its first read fails, says why, and becomes ready with one full sync once it succeeds', async () => {
    const missing = join(dir, 'not-yet');
    const sink = new RecordingSink();
    const s = new FileSource({ dir: missing, watch: false, debounceMs: 20, sink, logger: silent });
    sources.push(s);
    await s.start();
    expect(s.readiness()).toEqual({ ready: false, reason: expect.stringMatching(new RegExp(`^${missing} does not exist \\(ENOENT.*; nothing read yet$`)) });
    expect(sink.ops).toEqual([]);
    await mkdir(missing);
    await writeFile(join(missing, 'a.yaml'), sa('a'));
    await s.rescan();
    expect(s.readiness()).toEqual({ ready: true });
    expect(sink.ops).toEqual(['replaceAll 1']);
  });

  it('reports an invalid YAML document mid-file with file and line and keeps the rest', async () => {
    await writeFile(join(dir, 'mesh.yaml'), `${sa('a')}---\nkind: [\n---\n${sa('b')}`);
    await writeFile(join(dir, 'other.yaml'), sa('c'));
    const sink = new RecordingSink();
    await source(sink, false).start();
    expect(sink.names()).toEqual(['a', 'b', 'c']);
    expect(sink.errors).toHaveLength(1);
    expect(sink.errors[0]).toMatchObject({ file: 'mesh.yaml', line: 7 });
  });

  it('applies only the difference when a file is edited, and clears the file`s errors once fixed', async () => {
    await writeFile(join(dir, 'a.yaml'), `${sa('a')}---\n${sa('b')}---\nkind: [\n`);
    await writeFile(join(dir, 'other.yaml'), sa('c'));
    const sink = new RecordingSink();
    const s = source(sink);
    await s.start();
    expect(sink.errors).toHaveLength(1);
    await writeFile(join(dir, 'a.yaml'), `${sa('a')}---\n${sa('b2')}`);
    await vi.waitFor(() => expect(sink.names()).toEqual(['a', 'b2', 'c']), { timeout: 15_000, interval: 20 });
    expect(sink.ops.slice(1)).toEqual(['delete b', 'apply b2']);
    expect(sink.errors).toEqual([]);
  });

  it("handles editors' atomic saves (write a temp file, rename it over the original)", async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    const sink = new RecordingSink();
    await source(sink).start();
    await writeFile(join(dir, '.a.yaml.tmp'), `${sa('a')}---\n${sa('z')}`);
    await rename(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['a', 'z']), { timeout: 15_000, interval: 20 });
    expect(sink.ops.slice(1)).toEqual(['apply z']);
  });

  it('sees every one of repeated atomic saves over the same file (the periodic resync catches what fs.watch misses)', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    const sink = new RecordingSink();
    const s = new FileSource({ dir, watch: true, debounceMs: 20, resyncMs: 100, sink, logger: silent });
    sources.push(s);
    await s.start();
    for (const extra of ['b', 'c', 'd', 'e']) {
      await writeFile(join(dir, '.a.yaml.tmp'), `${sa('a')}---\n${sa(extra)}`);
      await rename(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
      await vi.waitFor(() => expect(sink.names()).toEqual(['a', extra]), { timeout: 5_000, interval: 20 });
    }
  });

  it('applies changes during continuous churn instead of waiting for the edits to stop (debounce has a maximum)', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a0'));
    const sink = new RecordingSink();
    const s = new FileSource({ dir, watch: true, debounceMs: 100, debounceMaxMs: 150, sink, logger: silent });
    sources.push(s);
    await s.start();
    // An edit every 30 ms for 1.2 s: a trailing-only 100 ms debounce would apply nothing until the end.
    let i = 0;
    const seenDuringChurn = new Set<string>();
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      await writeFile(join(dir, 'a.yaml'), sa(`a${++i}`));
      for (const n of sink.names()) seenDuringChurn.add(n);
      await new Promise((r) => setTimeout(r, 30));
    }
    seenDuringChurn.delete('a0');
    expect(seenDuringChurn.size).toBeGreaterThan(2);
  });

  it('deletes the objects of a deleted file and of a removed directory; a renamed file keeps its objects', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    await writeFile(join(dir, 'b.yaml'), sa('b'));
    await writeFile(join(dir, 'sub/c.yaml'), sa('c'));
    const sink = new RecordingSink();
    await source(sink).start();
    await rm(join(dir, 'b.yaml'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['a', 'c']), { timeout: 15_000, interval: 20 });
    await rm(join(dir, 'sub'), { recursive: true });
    await vi.waitFor(() => expect(sink.names()).toEqual(['a']), { timeout: 15_000, interval: 20 });
    await rename(join(dir, 'a.yaml'), join(dir, 'renamed.yaml'));
    await vi.waitFor(() => expect(sink.objects.get('/ServiceAccount/demo/a')?.origin?.file).toBe('renamed.yaml'), { timeout: 15_000, interval: 20 });
    expect(sink.names()).toEqual(['a']);
    expect(sink.ops).not.toContain('delete a');
  });

  it('picks up files in a directory created after start', async () => {
    const sink = new RecordingSink();
    await source(sink).start();
    await mkdir(join(dir, 'later'));
    await writeFile(join(dir, 'later/x.yaml'), sa('x'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['x']), { timeout: 15_000, interval: 20 });
  });

  it('uses the first file (by path) when an object is defined twice, and reports the duplicate', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('x'));
    await writeFile(join(dir, 'b.yaml'), `${sa('y')}---\n${sa('x')}`);
    const sink = new RecordingSink();
    await source(sink, false).start();
    expect(sink.objects.get('/ServiceAccount/demo/x')?.origin?.file).toBe('a.yaml');
    expect(sink.errors).toEqual([{ file: 'b.yaml', line: 7, message: 'ServiceAccount demo/x is also defined in a.yaml (line 1); that definition is used' }]);
  });
});

describe('plugin lifecycle (conformance: create / start / ready / stop / stop again)', () => {
  it('creates from config relative to baseDir, starts, is ready, stops twice, and sees no change after stop', async () => {
    await mkdir(join(dir, 'mesh'));
    await writeFile(join(dir, 'mesh/a.yaml'), sa('a'));
    const parsed = fileSourceConfig.parse({ dir: 'mesh', debounce: '10ms' }, [], { baseDir: dir });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toEqual({ dir: join(dir, 'mesh'), watch: true, debounce: 10, debounceMax: 200, resync: 5000, maxFileSize: 1024 * 1024 });
    expect(plugin.name).toBe('file');
    expect(plugin.kind).toBe('source');
    const sink = new RecordingSink();
    const inst = await plugin.create({ ...recordRegistrations(plugin), config: parsed.value, deps: {}, logger: silent, mesh: { name: 't', trustDomain: 'cluster.local' }, baseDir: dir, sink });
    expect(inst.readiness?.().ready).toBe(false);
    await inst.start?.();
    expect(inst.readiness?.().ready).toBe(true);
    expect(sink.names()).toEqual(['a']);
    await inst.stop?.();
    await inst.stop?.();
    await writeFile(join(dir, 'mesh/b.yaml'), sa('b'));
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.names()).toEqual(['a']);
  });

  it('rejects a config whose dir is not a directory', () => {
    const r = fileSourceConfig.parse({ dir: 'nope' }, [], { baseDir: dir });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.path).toEqual(['dir']);
  });
});

describe('FileSource keeps the last good state (issue 12)', () => {
  const opts = (sink: RecordingSink, extra: Partial<ConstructorParameters<typeof FileSource>[0]> = {}): FileSource => {
    const s = new FileSource({ dir, watch: true, debounceMs: 20, resyncMs: 0, sink, logger: silent, revisitMs: 50, ...extra });
    sources.push(s);
    return s;
  };
  const tt = (name: string) => `{"apiVersion": "access.smi-spec.io/v1alpha3", "kind": "TrafficTarget", "metadata": {"name": "${name}", "namespace": "demo"}, "spec": {"destination": {"kind": "ServiceAccount", "name": "b"}}}`;

  it('a file with a syntax error keeps its last good objects and reports the error with its line', async () => {
    await writeFile(join(dir, 'policy.json'), tt('allow'));
    await writeFile(join(dir, 'policy.yaml'), `${sa('keep')}---\nkind: TrafficTarget\napiVersion: access.smi-spec.io/v1alpha3\nmetadata: {name: t, namespace: demo}\n`);
    const sink = new RecordingSink();
    const s = opts(sink);
    await s.start();
    expect(sink.names()).toEqual(['allow', 'keep', 't']);
    await writeFile(join(dir, 'policy.json'), tt('allow').slice(0, -1)); // one missing `}`
    await writeFile(join(dir, 'policy.yaml'), `${sa('keep')}---\nkind: TrafficTarget\napiVersion: access.smi-spec.io/v1alpha3\nmetadata: {name: t, namespace: demo\n`);
    await vi.waitFor(() => expect(sink.errors.map((e) => e.file).sort()).toEqual(['policy.json', 'policy.yaml']), { timeout: 5_000, interval: 20 });
    expect(sink.names()).toEqual(['allow', 'keep', 't']);
    expect(sink.ops).toEqual(['replaceAll 3']);
    const yamlErr = sink.errors.find((e) => e.file === 'policy.yaml');
    expect(yamlErr?.line).toBe(7);
    expect(yamlErr?.message).toMatch(/^invalid YAML \(line \d+, column \d+\).*keeps its last good objects \(2\)/);
    expect(sink.errors.find((e) => e.file === 'policy.json')?.message).toMatch(/^invalid JSON.*keeps its last good objects \(1\)/);
    await writeFile(join(dir, 'policy.json'), tt('allow2'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['allow2', 'keep', 't']), { timeout: 5_000, interval: 20 });
    expect(sink.errors.map((e) => e.file)).toEqual(['policy.yaml']);
  });

  it('a removed directory keeps the last good state, reports not ready with the reason, and is watched again when it returns', async () => {
    await mkdir(join(dir, 'mesh/sub'), { recursive: true });
    await writeFile(join(dir, 'mesh/a.yaml'), sa('a'));
    await writeFile(join(dir, 'mesh/sub/b.yaml'), sa('b'));
    const sink = new RecordingSink();
    const s = opts(sink, { dir: join(dir, 'mesh') });
    await s.start();
    expect(s.readiness()).toEqual({ ready: true });
    await rm(join(dir, 'mesh'), { recursive: true });
    await vi.waitFor(() => expect(s.readiness().ready).toBe(false), { timeout: 5_000, interval: 20 });
    expect(s.readiness().reason).toMatch(/mesh does not exist .*keeping the last good state \(2 objects\)/);
    expect(sink.names()).toEqual(['a', 'b']);
    expect(sink.ops).toEqual(['replaceAll 2']);
    expect(sink.errors).toMatchObject([{ file: join(dir, 'mesh'), message: expect.stringMatching(/^cannot read directory/) }]);
    // It comes back (moved into place): ready again, the difference applied, the error cleared.
    await mkdir(join(dir, 'staging'));
    await writeFile(join(dir, 'staging/a.yaml'), sa('a'));
    await writeFile(join(dir, 'staging/c.yaml'), sa('c'));
    await rename(join(dir, 'staging'), join(dir, 'mesh'));
    await vi.waitFor(() => expect(s.readiness()).toEqual({ ready: true }), { timeout: 5_000, interval: 20 });
    expect(sink.names()).toEqual(['a', 'c']);
    expect(sink.errors).toEqual([]);
    // Re-armed: with the periodic resync off, an in-place write is seen through the new watch.
    await writeFile(join(dir, 'mesh/c.yaml'), sa('c2'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['a', 'c2']), { timeout: 5_000, interval: 20 });
  });

  it('a directory renamed away keeps the last good state and is not ready', async () => {
    await mkdir(join(dir, 'mesh'));
    await writeFile(join(dir, 'mesh/a.yaml'), sa('a'));
    const sink = new RecordingSink();
    const s = opts(sink, { dir: join(dir, 'mesh') });
    await s.start();
    await rename(join(dir, 'mesh'), join(dir, 'moved'));
    await vi.waitFor(() => expect(s.readiness().ready).toBe(false), { timeout: 5_000, interval: 20 });
    await writeFile(join(dir, 'moved/b.yaml'), sa('b')); // the old watch must not read the moved directory
    await new Promise((r) => setTimeout(r, 150));
    await s.settled();
    expect(sink.names()).toEqual(['a']);
  });

  it('is not ready, with the reason, when the directory is missing at start, and becomes ready once it appears', async () => {
    const sink = new RecordingSink();
    const s = opts(sink, { dir: join(dir, 'later') });
    await s.start();
    expect(s.readiness()).toEqual({ ready: false, reason: expect.stringMatching(/later does not exist .*nothing read yet/) });
    await mkdir(join(dir, 'later'));
    await writeFile(join(dir, 'later/a.yaml'), sa('a'));
    await vi.waitFor(() => expect(s.readiness()).toEqual({ ready: true }), { timeout: 5_000, interval: 20 });
    expect(sink.ops).toEqual(['replaceAll 1']);
  });

  it('a deeply nested JSON file is rejected with a reason and unrelated edits are still applied', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    const sink = new RecordingSink();
    const s = opts(sink);
    await s.start();
    const deep = `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep", "namespace": "demo"}, "data": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await writeFile(join(dir, 'deep.json'), deep);
    await vi.waitFor(() => expect(sink.errors).toMatchObject([{ file: 'deep.json', message: expect.stringMatching(/nested more than 64 levels/) }]), { timeout: 5_000, interval: 20 });
    await writeFile(join(dir, 'b.yaml'), sa('b'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['a', 'b']), { timeout: 5_000, interval: 20 });
    await writeFile(join(dir, 'a.yaml'), sa('a2'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['a2', 'b']), { timeout: 5_000, interval: 20 });
    expect(s.readiness()).toEqual({ ready: true });
  });

  it('sees in-place writes after an atomic save without waiting for a resync', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    const sink = new RecordingSink();
    await opts(sink).start();
    await writeFile(join(dir, '.a.yaml.tmp'), sa('b'));
    await rename(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['b']), { timeout: 5_000, interval: 20 });
    // `cat > a.yaml`: truncate and rewrite the same (new) inode; resync is off, only the watch can see it.
    for (const name of ['c', 'd']) {
      await writeFile(join(dir, 'a.yaml'), sa(name));
      await vi.waitFor(() => expect(sink.names()).toEqual([name]), { timeout: 5_000, interval: 20 });
    }
  });

  it('reports a duplicate whichever file changed last, and clears the report when the duplicate goes', async () => {
    await writeFile(join(dir, 'b.yaml'), sa('x'));
    const sink = new RecordingSink();
    await opts(sink).start();
    expect(sink.objects.get('/ServiceAccount/demo/x')?.origin?.file).toBe('b.yaml');
    // The newer copy sorts first: it wins, and the older one is reported as the duplicate.
    await writeFile(join(dir, 'a.yaml'), `${sa('y')}---\n${sa('x')}`);
    await vi.waitFor(() => expect(sink.objects.get('/ServiceAccount/demo/x')?.origin?.file).toBe('a.yaml'), { timeout: 5_000, interval: 20 });
    expect(sink.errors).toEqual([{ file: 'b.yaml', line: 1, message: 'ServiceAccount demo/x is also defined in a.yaml (line 7); that definition is used' }]);
    await writeFile(join(dir, 'a.yaml'), sa('y'));
    await vi.waitFor(() => expect(sink.objects.get('/ServiceAccount/demo/x')?.origin?.file).toBe('b.yaml'), { timeout: 5_000, interval: 20 });
    expect(sink.errors).toEqual([]);
  });

  it('does not read a file larger than maxFileBytes, says so, and keeps its last good objects', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    const sink = new RecordingSink();
    const s = opts(sink, { maxFileBytes: 1000 });
    await s.start();
    await writeFile(join(dir, 'a.yaml'), `${sa('a')}# ${'x'.repeat(2000)}\n---\n${sa('b')}`);
    await writeFile(join(dir, 'big.yaml'), `${sa('big')}# ${'x'.repeat(2000)}\n`);
    await vi.waitFor(() => expect(sink.errors).toHaveLength(2), { timeout: 5_000, interval: 20 });
    expect(sink.errors.find((e) => e.file === 'a.yaml')?.message).toMatch(/^file is \d+ bytes, larger than maxFileSize \(1000 bytes\); not read; keeping its last good objects \(1\)$/);
    expect(sink.errors.find((e) => e.file === 'big.yaml')?.message).toMatch(/^file is \d+ bytes, larger than maxFileSize \(1000 bytes\); not read$/);
    expect(sink.names()).toEqual(['a']);
    expect(s.stats.filesRead).toBe(1);
  });
});

describe('fault: the file source dies mid-sync', () => {
  it('an unreadable file, then the directory vanishing during a rescan, keep the last good state; the rest still works', async () => {
    await writeFile(join(dir, 'a.yaml'), sa('a'));
    await writeFile(join(dir, 'b.yaml'), sa('b'));
    const sink = new RecordingSink();
    let fault: ((path: string) => Promise<void>) | undefined;
    const s = new FileSource({
      dir,
      watch: true,
      debounceMs: 20,
      resyncMs: 0,
      revisitMs: 50,
      sink,
      logger: silent,
      read: async (path, max) => {
        await fault?.(path);
        return readLimited(path, max);
      },
    });
    sources.push(s);
    await s.start();
    // 1. a file that cannot be read (EIO): its objects stay, the others are applied.
    fault = async (path) => {
      if (path.endsWith('a.yaml')) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    };
    await writeFile(join(dir, 'a.yaml'), sa('a2'));
    await writeFile(join(dir, 'b.yaml'), sa('b2'));
    await vi.waitFor(() => expect(sink.names()).toEqual(['a', 'b2']), { timeout: 5_000, interval: 20 });
    expect(sink.errors).toEqual([{ file: 'a.yaml', message: 'cannot read file: EIO: i/o error, read; keeping its last good objects (1)' }]);
    expect(s.readiness()).toEqual({ ready: true });
    // 2. the directory disappears while a rescan is reading it.
    fault = async () => {
      fault = undefined;
      await rm(dir, { recursive: true, force: true });
    };
    await writeFile(join(dir, 'b.yaml'), sa('b3'));
    await vi.waitFor(() => expect(s.readiness().ready).toBe(false), { timeout: 5_000, interval: 20 });
    expect(sink.names()).toEqual(['a', 'b2']);
    expect(sink.ops.filter((o) => o.startsWith('delete'))).toEqual(['delete b']);
    // 3. it returns: everything is read again and the source is ready.
    await mkdir(dir);
    await writeFile(join(dir, 'a.yaml'), sa('a4'));
    await vi.waitFor(() => expect(s.readiness()).toEqual({ ready: true }), { timeout: 5_000, interval: 20 });
    expect(sink.names()).toEqual(['a4']);
    expect(sink.errors).toEqual([]);
  });
});
