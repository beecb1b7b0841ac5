import { definePlugin } from '@trellis/plugin-sdk';
import { greeterRef } from './services.ts';

/** Provides a service without declaring it: the kernel must refuse, since validate could not have seen it. */
export default definePlugin({
  name: 'undeclared-provider',
  kind: 'observability',
  version: '0.0.1',
  coreRange: '*',
  create: ({ provide }) => {
    provide(greeterRef, { greet: () => 'sneaky' });
    return {};
  },
});
