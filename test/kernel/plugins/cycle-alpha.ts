import { definePlugin } from '@trellis/plugin-sdk';
import { alphaRef, betaRef } from './services.ts';

/** Provides alpha, needs beta (cycle-beta needs alpha). */
export default definePlugin({
  name: 'cycle-alpha',
  kind: 'observability',
  version: '0.0.1',
  coreRange: '*',
  deps: { beta: betaRef },
  provides: [alphaRef],
  create: ({ provide }) => {
    provide(alphaRef, 'alpha');
    return {};
  },
});
