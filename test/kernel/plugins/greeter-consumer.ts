import { definePlugin } from '@trellis/plugin-sdk';
import { events } from './events.ts';
import { greeterRef } from './services.ts';

/** A source that needs the greeter: listed before its provider in the config, started after it. */
export default definePlugin({
  name: 'greeter-consumer',
  kind: 'source',
  version: '0.0.1',
  coreRange: '*',
  deps: { greeter: greeterRef },
  create: ({ deps }) => ({
    start: () => void events.push(`start:greeter-consumer (${deps.greeter.greet('consumer')})`),
    stop: () => void events.push('stop:greeter-consumer'),
  }),
});
