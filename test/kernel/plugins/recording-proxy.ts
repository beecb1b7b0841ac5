import { definePlugin } from '@trellis/plugin-sdk';
import { events } from './events.ts';

export default definePlugin({
  name: 'recording-proxy',
  kind: 'proxy',
  nodeKind: 'test',
  version: '0.0.1',
  coreRange: '^0.1.0',
  create: () => ({
    nodeKind: 'test',
    servesSecrets: false,
    generate: () => [],
    start: () => void events.push('start:recording-proxy'),
    stop: () => void events.push('stop:recording-proxy'),
  }),
});
