import { definePlugin, s } from '@trellis/plugin-sdk';
import { events } from './events.ts';

export default definePlugin({
  name: 'recording-source',
  kind: 'source',
  version: '0.0.1',
  coreRange: '*',
  configSchema: s.object({ id: s.string(), failStart: s.default(s.boolean(), false), slowStopMs: s.default(s.number(), 0) }),
  create: ({ config }) => ({
    start() {
      events.push(`start:${config.id}`);
      if (config.failStart) throw new Error('the upstream API refused the connection');
    },
    async stop() {
      events.push(`stop:${config.id}`);
      if (config.slowStopMs) await new Promise((r) => setTimeout(r, config.slowStopMs));
    },
  }),
});
