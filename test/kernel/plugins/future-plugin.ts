import { definePlugin } from '@trellis/plugin-sdk';

export default definePlugin({
  name: 'future',
  kind: 'source',
  version: '9.0.0',
  coreRange: '^9.0.0',
  create: () => ({}),
});
