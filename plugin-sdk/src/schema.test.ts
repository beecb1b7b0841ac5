import { describe, expect, it } from 'vitest';
import { formatPath, parseDuration, s } from './schema.ts';

describe('config schemas', () => {
  const schema = s.object({
    dir: s.string({ minLength: 1 }),
    watch: s.default(s.boolean(), true),
    roots: s.optional(s.array(s.object({ name: s.string(), weight: s.number({ integer: true, min: 0 }) }))),
    timeout: s.default(s.duration(), 5000),
  });

  it('decodes with defaults and durations', () => {
    expect(schema.parse({ dir: 'x', timeout: '2m' })).toEqual({ ok: true, value: { dir: 'x', watch: true, timeout: 120_000 } });
  });

  it('reports every problem with its path', () => {
    const r = schema.parse({ dir: '', typo: 1, roots: [{ name: 'a', weight: 1.5 }, { weight: -1 }] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'typo: unknown key (expected one of: dir, watch, roots, timeout)',
      'dir: must not be empty',
      'roots[0].weight: must be an integer, got 1.5',
      'roots[1].name: is required (string)',
      'roots[1].weight: must be >= 0, got -1',
    ]);
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('checks paths against the base directory', () => {
    const p = s.object({ dir: s.path({ mustBe: 'directory' }) });
    expect(p.parse({ dir: '.' }, [], { baseDir: '/tmp' })).toEqual({ ok: true, value: { dir: '/tmp' } });
    const bad = p.parse({ dir: 'nope-not-here' }, [], { baseDir: '/tmp' });
    expect(bad.ok ? [] : bad.issues.map((i) => i.message)).toEqual(['must be a directory (/tmp/nope-not-here does not exist)']);
  });
});
