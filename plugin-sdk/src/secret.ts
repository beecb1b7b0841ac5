import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a private key or token. Printing, logging, JSON-serialising or inspecting it shows `[redacted]`;
 * only `reveal()` gives the value, so a key cannot reach a log line or a debug page by accident. @public
 */
export class SecretValue {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
