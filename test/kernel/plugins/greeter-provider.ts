import { coreServices, definePlugin, extensionPoints } from '@trellis/plugin-sdk';
import { events } from './events.ts';
import { greeterRef } from './services.ts';

/** Provides a service another plugin depends on, plus a debug page and an admin route. */
export default definePlugin({
  name: 'greeter-provider',
  kind: 'observability',
  version: '0.0.1',
  coreRange: '*',
  deps: { logger: coreServices.logger },
  provides: [greeterRef],
  extends: [extensionPoints.debugPages, extensionPoints.adminRoutes],
  commands: [
    {
      name: 'greet',
      summary: 'Greets whoever is named',
      run: (args, { io }) => {
        if (!args[0]) {
          io.err('usage: trellis greet NAME --config FILE\n');
          return 2;
        }
        io.out(`hello, ${args[0]}\n`);
        return 0;
      },
    },
  ],
  create: ({ provide, extend, deps }) => {
    let greeted = 0;
    provide(greeterRef, {
      greet: (who) => {
        greeted++;
        deps.logger.info('greeted', { who });
        return `hello, ${who}`;
      },
    });
    extend(extensionPoints.debugPages, { name: 'greetings', get: () => ({ greeted }) });
    extend(extensionPoints.adminRoutes, { method: 'GET', path: 'hello/:who', handler: ({ params }) => ({ body: { text: `hello, ${params.who ?? ''}` } }) });
    return {
      start: () => void events.push('start:greeter-provider'),
      stop: () => void events.push('stop:greeter-provider'),
    };
  },
});
