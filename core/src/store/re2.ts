/**
 * Whether a regular expression is usable by every proxy: Envoy's `safe_regex` and gRPC use RE2, the catalog
 * and tests use JavaScript. We accept the intersection: what `new RegExp` accepts minus the constructs RE2
 * lacks (lookarounds, backreferences). Returns the reason it is not, or undefined.
 */
export function re2Problem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(n)) return `backreference "\\${n}" at offset ${i} is not supported by RE2`;
      if (!inClass && n === 'k' && pattern[i + 2] === '<') return `named backreference at offset ${i} is not supported by RE2`;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A `]` right after `[` or `[^` is literal in RE2 but closes an empty class in JS; skip it either way.
      if (pattern[i + 1] === '^') i++;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2, i + 4);
      if (rest.startsWith('=') || rest.startsWith('!')) return `lookahead at offset ${i} is not supported by RE2`;
      if (rest === '<=' || rest === '<!') return `lookbehind at offset ${i} is not supported by RE2`;
    }
  }
  return undefined;
}
