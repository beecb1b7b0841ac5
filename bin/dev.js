// Development and test runs straight from the TypeScript sources (tsx), never the build in dist/: workspace
// packages resolve through their `@trellis/source` export condition. Imported first by bin/trellis.js and
// bin/run-ts.js.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

const flag = '--conditions=@trellis/source';
if (!(process.env.NODE_OPTIONS ?? '').includes(flag) && !process.execArgv.includes(flag)) {
  register('./source-condition.js', import.meta.url);
  // Child processes (the bench's workers, the demo's workloads and controller) get the condition from Node itself.
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${flag}`.trim();
}
registerTsx();
