import { fileURLToPath } from 'node:url';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

export const certsFixture = here('./plugins/fixture-certs.ts');
export const recordingSource = here('./plugins/recording-source.ts');
export const recordingProxy = here('./plugins/recording-proxy.ts');
export const futurePlugin = here('./plugins/future-plugin.ts');
