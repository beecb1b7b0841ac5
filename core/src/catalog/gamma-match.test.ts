import { describe, expect, it } from 'vitest';
import type { GammaMatch } from '@trellis/plugin-sdk';
import { gammaMatchText, gammaMatches } from './gamma-match.ts';

const req = (path: string, headers: Record<string, string> = {}, method = 'GET') => ({ path, method, headers });
const m = (x: Partial<GammaMatch>): GammaMatch => ({ headers: [], queryParams: [], ...x });

describe('GAMMA request matching (explain)', () => {
  it('PathPrefix matches whole segments, Exact the whole path, RegularExpression the whole path', () => {
    const prefix = m({ path: { type: 'PathPrefix', value: '/v2' } });
    expect([gammaMatches(prefix, req('/v2')), gammaMatches(prefix, req('/v2/x')), gammaMatches(prefix, req('/v2example')), gammaMatches(prefix, req('/v2?a=1'))]).toEqual([true, true, false, true]);
    expect(gammaMatches(m({ path: { type: 'PathPrefix', value: '/' } }), req('/anything'))).toBe(true);
    expect([gammaMatches(m({ path: { type: 'Exact', value: '/a' } }), req('/a')), gammaMatches(m({ path: { type: 'Exact', value: '/a' } }), req('/a/'))]).toEqual([true, false]);
    expect([gammaMatches(m({ path: { type: 'RegularExpression', value: '/a.' } }), req('/ab')), gammaMatches(m({ path: { type: 'RegularExpression', value: '/a.' } }), req('/abc'))]).toEqual([true, false]);
  });

  it('needs the method, every header and every query parameter', () => {
    const x = m({ method: 'POST', headers: [{ name: 'x-v', type: 'RegularExpression', value: 'v[12]' }], queryParams: [{ name: 'Q', type: 'Exact', value: '1' }] });
    expect(gammaMatches(x, req('/p?Q=1', { 'x-v': 'v2' }, 'post'))).toBe(true);
    expect(gammaMatches(x, req('/p?Q=1', { 'x-v': 'v2' }, 'GET'))).toBe(false);
    expect(gammaMatches(x, req('/p?q=1', { 'x-v': 'v2' }, 'POST'))).toBe(false);
    expect(gammaMatches(x, req('/p?Q=1', { 'x-v': 'v3' }, 'POST'))).toBe(false);
    expect(gammaMatches(x, req('/p?Q=1', {}, 'POST'))).toBe(false);
    expect(gammaMatchText(x)).toBe('method POST, header x-v=~v[12], query Q=1');
    expect(gammaMatchText(m({}))).toBe('every request');
  });
});
