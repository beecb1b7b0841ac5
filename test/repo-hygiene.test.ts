import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Everything a fresh clone needs is in the clone: no code, test or script reaches outside the repository. */
const root = resolve(import.meta.dirname, '..');
const SKIP = new Set([join('test', 'data')]);
const CODE = /\.(ts|js|mjs|cjs)$/;

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.name === 'node_modules' || e.name.startsWith('.') || SKIP.has(relative(root, full))) continue;
    if (e.isDirectory()) files(full, out);
    else if (CODE.test(e.name)) out.push(full);
  }
  return out;
}

describe('repository hygiene', () => {
  it('no source, test or script reads the design notes kept beside the repository', () => {
    // Built from parts so this file does not match itself.
    const outside = new RegExp(['\\.\\./', 'shared', '\\b'].join(''));
    const offenders = files(root).filter((f) => outside.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});
