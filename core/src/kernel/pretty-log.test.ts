import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { prettyDestination, prettyLine } from './pretty-log.ts';

describe('pretty logs', () => {
  it('turns a pino line into time, level, component and fields, after redaction', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: prettyDestination((t) => lines.push(t), false) }).child({ component: 'store' });
    log.warn('object rejected', { kind: 'TrafficTarget', reason: 'spec.rules: empty', privateKey: 'SECRET' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} {2}WARN {3}store {2}object rejected {2}kind=TrafficTarget {2}reason="spec.rules: empty" {2}privateKey=\[redacted\]\n$/);
    expect(lines[0]).not.toContain('SECRET');
  });

  it('passes through what is not JSON and colours only when asked', () => {
    expect(prettyLine('plain text\n', true)).toBe('plain text');
    expect(prettyLine('{"level":50,"time":"2026-01-01T00:00:00.000Z","msg":"boom"}', true)).toContain('\u001b[31mERROR\u001b[0m');
  });
});
