/**
 * Regular expressions as every proxy reads them: Envoy's `safe_regex` and gRPC (re2-wasm in grpc-js-xds) use
 * RE2, so the store validates with re2js (a port of RE2) and the catalog matches with it too: what the store
 * accepts is what the proxies accept, and it means the same thing everywhere. re2js follows Go's parser, which
 * is slightly stricter than RE2's C++ one (it refuses `a**`); refusing more is the safe side.
 */
import { RE2JS, RE2JSException } from 're2js';

/** Longest pattern accepted: far above any route's needs, and Envoy caps RE2 program size anyway. */
export const MAX_REGEX_LENGTH = 1024;
/**
 * Envoy refuses (NACKs) a regex whose RE2 program size exceeds its runtime key
 * `re2.max_program_size.error_level`, 100 by default. re2js measures program size the way RE2 does
 * (instructions of the compiled program); the figure is close to, not guaranteed equal to, RE2's C++ one.
 */
export const MAX_PROGRAM_SIZE = 100;

/** Why `pattern` is not a usable RE2 expression, or undefined when it is. */
export function re2Problem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `longer than ${MAX_REGEX_LENGTH} characters (${pattern.length})`;
  if (unterminatedQuote(pattern)) return 'a \\Q quote must be closed by \\E (proxies embed the pattern in a larger one)';
  try {
    const size = RE2JS.compile(pattern).programSize();
    if (size > MAX_PROGRAM_SIZE) return `RE2 program size ${size} is over Envoy's limit of ${MAX_PROGRAM_SIZE} (re2.max_program_size.error_level): simplify the pattern`;
    return undefined;
  } catch (err) {
    if (err instanceof RE2JSException) return `not a valid RE2 regular expression: ${err.message}`;
    throw err;
  }
}

/** Whether a `\Q` literal run reaches the end of the pattern (RE2 allows it; embedding the pattern would break). */
function unterminatedQuote(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') continue;
    if (pattern[i + 1] === 'Q') {
      const end = pattern.indexOf('\\E', i + 2);
      if (end < 0) return true;
      i = end + 1;
    } else i++;
  }
  return false;
}

const compiled = new Map<string, RE2JS>();
const MAX_CACHED = 1000;

/** Whether `value` matches `pattern` as a whole (RE2 full match, what Envoy and gRPC do). */
export function re2FullMatch(pattern: string, value: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(pattern, re);
  }
  return re.matches(value);
}
