/**
 * Renderings of untrusted values for keys, reasons and logs: they never throw (a null-prototype object or a
 * BigInt breaks `String` or `JSON.stringify`) and the displayed ones are bounded, so a hostile object cannot
 * crash the store or turn one bad field into a megabyte of status, metrics label or log line.
 */

/** `String(v)`, without throwing. */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}...` : s);

/** A name or key part for display: `text(v)`, at most `max` characters. */
export function shortText(v: unknown, max = 253): string {
  return cut(text(v), max);
}

/** A value quoted for a reason (`got ...`): JSON when possible, at most `max` characters. */
export function show(v: unknown, max = 80): string {
  if (typeof v === 'string') return JSON.stringify(cut(v, max));
  let s: string | undefined;
  try {
    s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  } catch {
    s = undefined;
  }
  return cut(s ?? text(v), max);
}
