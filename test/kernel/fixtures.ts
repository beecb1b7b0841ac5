import { fileURLToPath } from 'node:url';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

export const certsFixture = here('./plugins/fixture-certs.ts');
export const recordingSource = here('./plugins/recording-source.ts');
export const recordingProxy = here('./plugins/recording-proxy.ts');
export const futurePlugin = here('./plugins/future-plugin.ts');
export const greeterProvider = here('./plugins/greeter-provider.ts');
export const greeterConsumer = here('./plugins/greeter-consumer.ts');
export const cycleAlpha = here('./plugins/cycle-alpha.ts');
export const cycleBeta = here('./plugins/cycle-beta.ts');
export const needsNobody = here('./plugins/needs-nobody.ts');
export const undeclaredProvider = here('./plugins/undeclared-provider.ts');

import type { CorePartsFactory } from '@trellis/core';
import { RecordingSink } from '@trellis/plugin-sdk/testing';

/** Kernel tests exercise plugins and lifecycle alone: no store, certificates or xDS behind them. */
export const kernelOnlyParts: CorePartsFactory = {
  components: [],
  create: () => {
    const sink = new RecordingSink();
    return {
      sinkFor: () => sink,
      resources: {
        create: () => {
          throw new Error('kernel tests build no xDS resources');
        },
      },
      components: {},
    };
  },
};
