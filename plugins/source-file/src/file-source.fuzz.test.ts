/**
 * Fuzzing the file source's input boundary (YAML and JSON files). Properties: no crash, no unhandled rejection,
 * bounded work (files over the size limit are never read), the last good state kept, every rejection with a
 * reason. Seeds are fixed; `TRELLIS_FUZZ_RUNS` (see `npm run fuzz`) sets the number of runs, small by default.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf, objectKeyString } from '@trellis/plugin-sdk';
import type { KubeObject, Logger, ObjectKey, ObjectOrigin, SourceError, SourceSink } from '@trellis/plugin-sdk';
import { FileSource, MAX_DEPTH, parseManifest } from './index.ts';
import { readLimited } from './internal/read-limited.ts';

const RUNS = Math.max(1, Number(process.env.TRELLIS_FUZZ_RUNS ?? '') || 40);
const SEED = process.env.TRELLIS_FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.TRELLIS_FUZZ_SEED ?? '') || 20_261_201;
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

class Sink implements SourceSink {
  readonly objects = new Map<string, { obj: KubeObject; origin?: ObjectOrigin }>();
  readonly errors: Omit<SourceError, 'source'>[] = [];
  apply(obj: KubeObject, origin?: ObjectOrigin): void {
    this.objects.set(objectKeyString(keyOf(obj)), { obj, ...(origin && { origin }) });
  }
  delete(key: ObjectKey): void {
    this.objects.delete(objectKeyString(key));
  }
  replaceAll(objects: readonly { obj: KubeObject; origin?: ObjectOrigin }[]): void {
    this.objects.clear();
    for (const o of objects) this.objects.set(objectKeyString(keyOf(o.obj)), o);
  }
  reportError(err: Omit<SourceError, 'source'>): void {
    this.errors.push(err);
  }
  clearErrors(file?: string): void {
    for (let i = this.errors.length - 1; i >= 0; i--) if (file === undefined || this.errors[i]?.file === file) this.errors.splice(i, 1);
  }
  namesFrom(file: string): string[] {
    return [...this.objects.values()].filter((o) => o.origin?.file === file).map((o) => o.obj.metadata.name).sort();
  }
}

const sa = (name: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n  namespace: demo\n`;

/** Manifest-like text: valid objects, broken ones, arbitrary JSON values, deep nesting and raw noise, mixed. */
const objectArb = fc.record({
  apiVersion: fc.oneof(fc.constant('v1'), fc.constant('access.smi-spec.io/v1alpha3'), fc.string({ maxLength: 8 })),
  kind: fc.oneof(fc.constantFrom('ServiceAccount', 'TrafficTarget', 'Service', 'List'), fc.string({ maxLength: 8 })),
  metadata: fc.oneof(fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), namespace: fc.constantFrom('demo', 'other') }), fc.jsonValue({ maxDepth: 2 })),
  spec: fc.jsonValue({ maxDepth: 3 }),
});
const deepArb = fc.integer({ min: MAX_DEPTH - 2, max: 3000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
const textArb = fc.oneof(
  objectArb.map((o) => JSON.stringify(o)),
  fc.array(objectArb, { maxLength: 4 }).map((os) => os.map((o) => JSON.stringify(o)).join('\n---\n')),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  deepArb,
  deepArb.map((d) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${d}\n`),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  // A valid file with a cut, an insertion or a changed character: the missing `}` of the owners' report.
  fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom('{', '}', '[', ']', ':', '-', '"', "'", '&a', '*a', '!!', '\t', '\n', '---')).map(([at, op, ch]) => {
    const base = `${sa('fuzz')}---\n{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "fuzz2", "namespace": "demo"}}\n`;
    const i = at % base.length;
    return op === 0 ? base.slice(0, i) + base.slice(i + 1) : op === 1 ? base.slice(0, i) + ch + base.slice(i) : base.slice(0, i) + ch + base.slice(i + 1);
  }),
);

describe('fuzz: parseManifest', () => {
  it('never throws; every object is keyable and every problem has a line and a reason', () => {
    fc.assert(
      fc.property(textArb, fc.constantFrom('f.yaml', 'f.json'), (text, name) => {
        const r = parseManifest(text, name);
        for (const o of r.objects) {
          expect(typeof o.obj.apiVersion).toBe('string');
          expect(typeof o.obj.kind).toBe('string');
          expect(o.obj.metadata.name).toMatch(/./);
          expect(o.line).toBeGreaterThanOrEqual(1);
        }
        for (const p of r.problems) {
          expect(p.message.length).toBeGreaterThan(0);
          expect(p.line ?? 1).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: RUNS * 5, seed: SEED },
    );
  }, 60_000 + RUNS * 200);
});

describe('fuzz: FileSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-file-fuzz-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the other files and the last good state of a broken file, reports why, and never reads past the size limit', async () => {
    const maxFileBytes = 2048;
    await fc.assert(
      fc.asyncProperty(textArb, fc.constantFrom('f.yaml', 'f.json'), fc.boolean(), async (text, name, oversize) => {
        const sub = await mkdtemp(join(dir, 'run-'));
        await writeFile(join(sub, 'good.yaml'), sa('good'));
        await writeFile(join(sub, name), name.endsWith('.json') ? JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'before', namespace: 'demo' } }) : sa('before'));
        const sink = new Sink();
        const reads: string[] = [];
        const read = (path: string, max: number) => {
          reads.push(path);
          return readLimited(path, max);
        };
        const src = new FileSource({ dir: sub, watch: false, debounceMs: 10, sink, logger: silent, maxFileBytes, read });
        await src.start();
        expect(sink.namesFrom(name)).toEqual(['before']);
        const content = oversize ? text + ' '.repeat(maxFileBytes + 1) : text;
        await writeFile(join(sub, name), content);
        reads.length = 0;
        await src.rescan();
        expect(src.readiness()).toEqual({ ready: true });
        expect(sink.objects.has('/ServiceAccount/demo/good')).toBe(true);
        for (const e of sink.errors) expect(e.message.length).toBeGreaterThan(0);
        const parsed = parseManifest(content, name);
        if (oversize) {
          expect(reads).not.toContain(join(sub, name));
          expect(sink.namesFrom(name)).toEqual(['before']);
          expect(sink.errors.some((e) => e.file === name && /larger than maxFileSize/.test(e.message))).toBe(true);
        } else if (parsed.problems.length > 0) {
          expect(sink.namesFrom(name)).toEqual(['before']);
          expect(sink.errors.filter((e) => e.file === name)).toHaveLength(parsed.problems.length);
        }
        src.stop();
        await rm(sub, { recursive: true, force: true });
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 60_000 + RUNS * 500);
});
