import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { formatDuration, formatPath, parseDuration, s } from './schema.ts';

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

  it('requires a unit on durations: a bare number is an error, not milliseconds', () => {
    const d = s.object({ grace: s.default(s.duration({ minMs: 1000 }), 10_000) });
    expect(d.parse({})).toEqual({ ok: true, value: { grace: 10_000 } });
    expect(d.parse({ grace: '1.5s' })).toEqual({ ok: true, value: { grace: 1500 } });
    const msgs = (v: unknown) => {
      const r = d.parse({ grace: v });
      return r.ok ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    };
    expect(msgs(10)).toEqual(['grace: must be a duration with a unit, e.g. 10ms or 10s (a bare number is ambiguous)']);
    expect(msgs('10')).toEqual(['grace: must be a duration like 500ms, 30s, 5m or 24h, got "10"']);
    expect(msgs('500ms')).toEqual(['grace: must be at least 1s, got 500ms']);
    expect(formatDuration(87_600 * 3_600_000)).toBe('3650d');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(0)).toBe('0s');
  });

  it('is a JSON Schema that another validator accepts, with defaults in the file form', () => {
    const j = schema.jsonSchema;
    expect(j).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['dir'],
      properties: { dir: { type: 'string', minLength: 1 }, watch: { type: 'boolean', default: true }, timeout: { type: 'string', default: '5s', 'x-duration': true } },
    });
    const plain = new Ajv({ strict: false });
    expect(plain.validate(j, { dir: 'x', timeout: '2m' })).toBe(true);
    expect(plain.validate(j, { dir: 'x', timeout: 2 })).toBe(false);
  });

  it('treats a null block as absent, keeps unknown keys errors at any depth, and reports literals and lists', () => {
    const n = s.object({
      log: s.section({ level: s.default(s.literal(['info', 'debug'] as const), 'info') }),
      list: s.default(s.array(s.string(), { minItems: 1 }), ['a']),
      map: s.optional(s.record(s.number())),
    });
    expect(n.parse({ log: null })).toEqual({ ok: true, value: { log: { level: 'info' }, list: ['a'] } });
    expect(n.parse(null)).toEqual({ ok: true, value: { log: { level: 'info' }, list: ['a'] } });
    const r = n.parse({ log: { level: 'trace', extra: 1 }, list: [], map: { a: 'x' } });
    expect(r.ok ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'log.extra: unknown key (expected one of: level)',
      'log.level: must be one of "info", "debug", got "trace"',
      'list: must have at least 1 item(s)',
      'map.a: must be a number, got string',
    ]);
  });

  it('runs refinements on the valid parts even when other keys are wrong, and marks secrets', () => {
    const auth = s.refine(s.object({ token: s.optional(s.secret(s.string())), user: s.optional(s.string()) }), (a) =>
      (a.token === undefined) === (a.user === undefined) ? 'must set exactly one of token, user' : undefined,
    );
    const r = s.object({ port: s.number({ integer: true, max: 65535 }), auth }).parse({ port: 70000, auth: {} });
    expect(r.ok ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual(['port: must be <= 65535, got 70000', 'auth: must set exactly one of token, user']);
    expect((auth as unknown as { shape: Record<string, { secret: boolean }> }).shape.token?.secret).toBe(true);
    expect(auth.jsonSchema).toMatchObject({ properties: { token: { 'x-secret': true } } });
  });

  it('does not write defaults into the caller\'s object', () => {
    const input = { dir: 'x' };
    expect(schema.parse(input).ok).toBe(true);
    expect(input).toEqual({ dir: 'x' });
  });
});
