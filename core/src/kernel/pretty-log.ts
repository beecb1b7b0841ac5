/**
 * Log lines for a person at a terminal: `12:03:04.123 INFO  store  policy accepted  kind=TrafficTarget ...`,
 * from the same pino JSON lines (so redaction has already happened). Machines get the JSON lines unchanged.
 */
import type pino from 'pino';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '31' },
};

const value = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return typeof v === 'string' && /[\s="]/.test(v) ? JSON.stringify(v) : s;
};

/** One pino JSON line as a readable line (without newline); non-JSON input is returned as is. */
export function prettyLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.replace(/\n$/, '');
  }
  const { level, time, msg, component, plugin, ...rest } = o;
  const lv = LEVELS[typeof level === 'number' ? level : 30] ?? { name: String(level), color: '0' };
  const paint = (code: string, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const t = typeof time === 'string' ? time.slice(11, 23) : '';
  const who = [component, plugin].filter((x) => typeof x === 'string').join('/');
  const fields = Object.entries(rest).map(([k, v]) => `${paint('90', `${k}=`)}${value(v)}`);
  return [paint('90', t), paint(lv.color, lv.name.padEnd(5)), who ? paint('36', who) : '', typeof msg === 'string' ? msg : JSON.stringify(msg ?? ''), ...fields].filter(Boolean).join('  ');
}

/** A pino destination writing pretty lines through `write` (stderr by default). */
export function prettyDestination(write: (text: string) => void = (t) => void process.stderr.write(t), color = process.stderr.isTTY === true): pino.DestinationStream {
  return { write: (line: string) => write(`${prettyLine(line, color)}\n`) };
}
