/** Structured logging as plugins see it. The core backs it with pino (one JSON object per line). @public */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (e.g. `{ proxy: id }`). */
  child(fields: LogFields): Logger;
}
