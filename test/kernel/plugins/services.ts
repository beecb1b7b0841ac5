import { createServiceRef } from '@trellis/plugin-sdk';

/** Services the graph-test plugins provide to each other. */
export interface Greeter {
  greet(who: string): string;
}
export const greeterRef = createServiceRef<Greeter>('acme.greeter');
export const alphaRef = createServiceRef<string>('acme.alpha');
export const betaRef = createServiceRef<string>('acme.beta');
export const nobodyRef = createServiceRef<string>('acme.nobody');
