import pino from 'pino';
import type { LogFields, Logger } from '@trellis/plugin-sdk';
import { prettyDestination } from './pretty-log.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

// Defence in depth: even if a key slips into log fields, pino censors these paths.
const REDACT = ['privateKey', 'private_key', '*.privateKey', '*.private_key', 'token', '*.token', 'key', '*.key'];

class PinoLogger implements Logger {
  constructor(private readonly p: pino.Logger) {}
  debug(msg: string, fields?: LogFields): void {
    this.p.debug(fields ?? {}, msg);
  }
  info(msg: string, fields?: LogFields): void {
    this.p.info(fields ?? {}, msg);
  }
  warn(msg: string, fields?: LogFields): void {
    this.p.warn(fields ?? {}, msg);
  }
  error(msg: string, fields?: LogFields): void {
    this.p.error(fields ?? {}, msg);
  }
  child(fields: LogFields): Logger {
    return new PinoLogger(this.p.child(fields));
  }
}

export type LogFormat = 'json' | 'pretty';

/**
 * One JSON object per line on stderr (stdout stays free for CLI output); `format: 'pretty'` turns each line into
 * a readable one for a terminal (after redaction).
 */
export function createLogger(opts: { level?: LogLevel; destination?: pino.DestinationStream; format?: LogFormat } = {}): Logger {
  const p = pino(
    { level: opts.level ?? 'info', base: undefined, redact: { paths: REDACT, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime },
    opts.destination ?? (opts.format === 'pretty' ? prettyDestination() : pino.destination({ fd: 2, sync: false })),
  );
  return new PinoLogger(p);
}

/** A logger that drops everything (tests, `trellis validate`). */
export function silentLogger(): Logger {
  return createLogger({ level: 'silent' });
}
