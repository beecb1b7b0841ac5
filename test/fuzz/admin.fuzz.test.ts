import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import testBackend from '../controller/test-backend.ts';
import { fuzzSettings } from '../support/fuzz.ts';

/**
 * Random methods, paths and queries against the real admin server: never a 5xx, never a crash (it still
 * answers /livez afterwards). `TRELLIS_FUZZ_RUNS` / `TRELLIS_FUZZ_SEED` as for the other fuzz suites.
 */
const { runs: RUNS, seed: SEED } = fuzzSettings(150);

const PREFIXES = ['', '/debug', '/debug/', '/debug/proxies', '/debug/proxies/', '/debug/certs', '/debug/views', '/debug/views/', '/debug/policies', '/metrics', '/readyz', '/livez', '/healthz', '/debug/nope'];
const segment = fc.oneof(
  fc.constantFrom('shop', 'shop/buyer', '..', '.', '%', '%2F', '%00', '%ff', '*', '/', '//', 'a'.repeat(3000), '{}', '?', '#', ';', 'ns/sa/extra'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 10 }).map((s) => encodeURIComponent(s)),
);
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?verbose', '?verbose=1', '?verbose=%zz', '?a=1&a=2', '?=', '?&&', `?${'q'.repeat(2000)}=1`),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }).map((d) => `?${new URLSearchParams(d).toString()}`),
);
const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
const body = fc.oneof(fc.constant(undefined), fc.constantFrom('{', '{"a":1}', 'null', 'x'.repeat(10_000)));

describe('fuzz: admin requests', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-admin-fuzz-')) } }, { definition: testBackend }],
      settings: { xds: { address: '127.0.0.1:0' } },
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1')],
    });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('answers every request without a 5xx and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(method, fc.constantFrom(...PREFIXES), fc.array(segment, { maxLength: 3 }), query, body, async (m, prefix, segments, q, b) => {
        const path = [prefix, ...segments].join('/').replace(/^([^/])/, '/$1') || '/';
        const withBody = b !== undefined && m !== 'GET' && m !== 'HEAD';
        const res = await fetch(`${mesh.adminUrl}${path}${q}`, {
          method: m,
          ...(withBody ? { body: b, headers: { 'content-type': 'application/json' } } : {}),
        });
        await res.arrayBuffer();
        expect(res.status, `${m} ${path}${q}`).toBeLessThan(500);
      }),
      // Found by this fuzz: a percent-encoded '%' in a debug id was decoded twice (a 500).
      { numRuns: RUNS, seed: SEED, examples: [['GET', '/debug/views/', ['%25'], '', undefined]] },
    );
    const live = await fetch(`${mesh.adminUrl}/livez`);
    expect(live.status).toBe(200);
  }, 20_000 + RUNS * 50);
});
