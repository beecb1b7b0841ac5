import { definePlugin, s, type KubeObject, type Readiness } from '@trellis/plugin-sdk';

/** What a test drives: the source's first full sync, done late (or failed) on the test's command. */
export interface LateSource {
  /** Completes the first full sync with exactly these objects. */
  sync(objects: readonly KubeObject[]): void;
  /** Makes the first sync fail with this reason (the source stays not ready). */
  fail(reason: string): void;
  readiness(): Readiness;
}

/**
 * A source plugin that starts at once but reports its first full sync only when the test says so, like an
 * informer whose initial list is slow: the controller must not serve proxies the mesh without its objects.
 */
export default definePlugin({
  name: 'late-source',
  kind: 'source',
  version: '0.0.1',
  coreRange: '*',
  configSchema: s.object({ what: s.default(s.string(), 'the upstream API') }),
  create: ({ sink, config }): LateSource => {
    let state: { synced: true } | { synced: false; problem?: string } = { synced: false };
    return {
      sync(objects) {
        sink.replaceAll(objects.map((obj) => ({ obj })));
        state = { synced: true };
      },
      fail(reason) {
        state = { synced: false, problem: reason };
      },
      readiness() {
        if (state.synced) return { ready: true };
        return { ready: false, reason: state.problem ? `first list of ${config.what} failed: ${state.problem}` : `first list of ${config.what} not done` };
      },
    };
  },
});
