/** `--source kubernetes` parsing: which scenarios it runs, and the errors for what it cannot run. */
import { describe, expect, it } from 'vitest';
import { KUBERNETES_SCENARIOS, parseBenchArgs } from '../../bench/args.ts';

describe('bench --source', () => {
  it('defaults to the file source', () => {
    expect(parseBenchArgs([]).source).toBe('file');
  });

  it('kubernetes with --scenario all runs only the scenarios that edit through the API server', () => {
    const a = parseBenchArgs(['--source', 'kubernetes']);
    expect(a.source).toBe('kubernetes');
    expect([...a.scenarios]).toEqual([...KUBERNETES_SCENARIOS]);
  });

  it('names the scenarios kubernetes cannot run, and an unknown source', () => {
    expect(() => parseBenchArgs(['--source', 'kubernetes', '--scenario', 'endpoint-churn,mesh-wide'])).toThrow(/--source kubernetes runs only single-change, endpoint-churn \(not mesh-wide\)/);
    expect(() => parseBenchArgs(['--source', 'consul'])).toThrow(/--source: expected file or kubernetes, got "consul"/);
  });
});
