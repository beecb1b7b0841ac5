import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, defaultParts, parseConfig, planMesh } from '@trellis/core';
import { fuzzSettings } from '../support/fuzz.ts';

/**
 * Config files, valid, mutated and hostile: parsing either yields a config whose graph can be planned, or a
 * ConfigError whose every problem has a stable code, a message and (for schema problems) the path of the key.
 * Nothing else may escape (no TypeError, no stack overflow, no hang). Fixed seed; `TRELLIS_FUZZ_RUNS` sets
 * the number of runs (`npm run fuzz` raises it).
 */
const { runs: RUNS, seed: SEED } = fuzzSettings(60);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-fuzz-config-'));
  await mkdir(join(dir, 'mesh'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const VALID = {
  mesh: { name: 'fuzz', trustDomain: 'cluster.local' },
  plugins: {
    sources: [{ use: 'file', config: { dir: './mesh' } }],
    proxies: [{ use: 'envoy' }, { use: 'grpc' }],
    certificates: { use: 'selfsigned', config: { stateDir: './ca' } },
  },
  xds: { address: '127.0.0.1:15128', plaintextAddress: '127.0.0.1:15129', debounce: { quiet: '50ms', max: '250ms' } },
  admin: { address: '127.0.0.1:9091' },
  shutdown: { grace: '10s' },
};

/** Values of every JSON shape, hostile ones included (deep nesting, long strings, odd numbers). */
const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, 65536, 2 ** 53, Number.MAX_VALUE, '', ' ', '${NOPE}', '10', '10s', '-5ms', '0.0.0.0:15128', '::1', '../..', 'a'.repeat(5000)),
    fc.string(),
    fc.double({ noNaN: false }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A valid config with one path replaced by a hostile value (or a key added where none belongs). */
const mutatedConfig = fc
  .tuple(
    fc.constantFrom(
      ['mesh', 'name'],
      ['mesh', 'trustDomain'],
      ['plugins', 'sources'],
      ['plugins', 'sources', 0, 'use'],
      ['plugins', 'sources', 0, 'config'],
      ['plugins', 'sources', 0, 'config', 'dir'],
      ['plugins', 'proxies', 1],
      ['plugins', 'certificates'],
      ['plugins', 'certificates', 'config', 'stateDir'],
      ['plugins', 'observability'],
      ['xds', 'address'],
      ['xds', 'plaintextAddress'],
      ['xds', 'debounce', 'quiet'],
      ['xds', 'maxStreams'],
      ['admin'],
      ['shutdown', 'grace'],
      ['log', 'level'],
      ['unknownTop'],
    ),
    hostileValue,
  )
  .map(([path, value]) => {
    const doc = structuredClone(VALID) as Record<string, unknown>;
    let at: Record<string | number, unknown> = doc;
    for (const seg of path.slice(0, -1)) {
      const next = at[seg];
      if (typeof next !== 'object' || next === null) at[seg] = {};
      at = at[seg] as Record<string | number, unknown>;
    }
    at[path[path.length - 1] as string | number] = value;
    return stringify(doc);
  });

/** The valid file's text with bytes inserted, deleted or swapped: YAML syntax errors of every kind. */
const corruptedText = fc
  .tuple(fc.nat(), fc.nat({ max: 20 }), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', ':', '-', ' ', '\n', '\t', '"', "'", '&', '*', '!', '#', '|', '>', '%', '@', '`', 'x') , maxLength: 6 }))
  .map(([at, del, ins]) => {
    const text = stringify(VALID);
    const i = at % (text.length + 1);
    return text.slice(0, i) + ins + text.slice(i + del);
  });

/** Documents that are not config-shaped at all. */
const arbitraryDocument = hostileValue.map((v) => stringify(v));

async function check(text: string): Promise<void> {
  let parsed;
  try {
    parsed = await parseConfig(text, join(dir, 'trellis.yaml'), { env: {} });
  } catch (err) {
    expect(err, `only ConfigError may escape, got ${String(err)}`).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.code).toMatch(/^TRELLIS_ERR_[A-Z_]+$/);
      expect(p.message.length).toBeGreaterThan(0);
    }
    return;
  }
  // Accepted: the graph can be checked without throwing (problems are data, not exceptions).
  const plan = planMesh(parsed, defaultParts);
  for (const p of plan.problems) expect(p.code).toMatch(/^TRELLIS_ERR_[A-Z_]+$/);
}

describe('config files fuzz (fast-check, fixed seed)', () => {
  it('accepts the valid base file (the generators start from a real config)', async () => {
    const cfg = await parseConfig(stringify(VALID), join(dir, 'trellis.yaml'), { env: {} });
    expect(planMesh(cfg, defaultParts).problems).toEqual([]);
  });

  it('a config with one hostile value: parsed, or refused with coded problems', async () => {
    await fc.assert(fc.asyncProperty(mutatedConfig, check), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  });

  it('a syntactically corrupted file: refused with coded problems, never a crash', async () => {
    await fc.assert(fc.asyncProperty(corruptedText, check), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  });

  it('documents of any shape', async () => {
    await fc.assert(fc.asyncProperty(arbitraryDocument, check), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  });
});
