/**
 * Conventions every operator command shares: `-o table|json|yaml` (table by default on a terminal, JSON
 * otherwise), the admin API address (`--admin URL`, else `--config FILE`'s `admin.address`, else
 * `$TRELLIS_ADMIN`, else http://127.0.0.1:9091), and exit codes (0 ok, 1 a check failed or denied, 2 usage or input).
 */
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { UsageError, type CliIO } from './args.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** A failure the command already explained; `code` is the exit code (1 failed, 2 input). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export const outputOptions = { output: { type: 'string', short: 'o' } } as const;
export const adminOptions = { admin: { type: 'string' }, config: { type: 'string', short: 'c' } } as const;
export const OUTPUT_HELP = { output: 'table, json or yaml (default: table on a terminal, json otherwise)' };
export const ADMIN_HELP = { admin: 'admin API URL (default: --config FILE\'s admin.address, $TRELLIS_ADMIN, http://127.0.0.1:9091)', config: 'the controller\'s config file (for the admin address)' };

export function outputFormat(values: Record<string, unknown>, io: CliIO): OutputFormat {
  const v = values.output;
  if (v === undefined) return io.isTTY ? 'table' : 'json';
  if (v === 'table' || v === 'json' || v === 'yaml') return v;
  throw new UsageError(`-o must be table, json or yaml, got ${JSON.stringify(v)}`);
}

/** Prints `data` as JSON or YAML, or the table text for `table`. */
export function render(io: CliIO, format: OutputFormat, data: unknown, table: () => string): void {
  if (format === 'json') io.out(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') io.out(stringify(data));
  else io.out(table());
}

/** Columns padded to their widest cell; headers upper-cased, as kubectl prints them. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ').trimEnd()).join('\n')}\n`;
}

const toUrl = (address: string): string => (/^https?:\/\//.test(address) ? address : `http://${address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}`);

/** The admin API base URL, from `--admin`, `--config`, `$TRELLIS_ADMIN` or the default. */
export async function adminUrl(values: Record<string, unknown>): Promise<string> {
  if (typeof values.admin === 'string' && values.admin !== '') return toUrl(values.admin).replace(/\/+$/, '');
  if (typeof values.config === 'string' && values.config !== '') {
    const cfg = await loadConfig(values.config);
    const address = cfg.settings.admin.address as string | false;
    if (address === false) throw new CliFailure(`${values.config}: the admin API is off (admin.address: false); pass --admin URL`, 2);
    return toUrl(address);
  }
  return toUrl(process.env.TRELLIS_ADMIN ?? '127.0.0.1:9091').replace(/\/+$/, '');
}

/** GET a JSON document from the admin API; an unreachable controller or a 4xx/5xx is a CliFailure that says so. */
export async function adminGet<T>(base: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliFailure(`cannot reach the admin API at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is the controller running? (--admin URL or --config FILE)`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const msg = typeof body === 'object' && body !== null && 'error' in body ? String((body).error) : text.slice(0, 500);
    throw new CliFailure(`${base}${path}: ${res.status} ${msg}`, res.status >= 400 && res.status < 500 && res.status !== 404 ? 2 : 1);
  }
  return body as T;
}
