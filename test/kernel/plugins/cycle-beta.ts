import { definePlugin } from '@trellis/plugin-sdk';
import { alphaRef, betaRef } from './services.ts';

/** Provides beta, needs alpha (cycle-alpha needs beta). */
export default definePlugin({
  name: 'cycle-beta',
  kind: 'observability',
  version: '0.0.1',
  coreRange: '*',
  deps: { alpha: alphaRef },
  provides: [betaRef],
  create: ({ provide }) => {
    provide(betaRef, 'beta');
    return {};
  },
});
