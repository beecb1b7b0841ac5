import { definePlugin } from '@trellis/plugin-sdk';
import { nobodyRef } from './services.ts';

/** Needs a service no plugin provides. */
export default definePlugin({
  name: 'needs-nobody',
  kind: 'observability',
  version: '0.0.1',
  coreRange: '*',
  deps: { thing: nobodyRef },
  create: () => ({}),
});
