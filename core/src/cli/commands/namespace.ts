import { MONITORED_BY } from '../../install/manifests.ts';
import { UsageError, type Command } from '../args.ts';
import { CliFailure } from '../output.ts';

/**
 * `trellis namespace add|remove NS`: labels the namespace for the mesh (the webhook's namespaceSelector and
 * the Kubernetes source read the label); `--restart` rolls its Deployments so their pods get (or lose) sidecars.
 */
export const namespaceCommand: Command = {
  name: 'namespace',
  summary: 'Add a namespace to the mesh or remove it (the trellis.io/monitored-by label), optionally restarting its Deployments.',
  usage: 'trellis namespace <add|remove> NS [--mesh NAME] [--restart] [--kubeconfig FILE] [--context NAME] (default: in-cluster, $KUBECONFIG, ~/.kube/config)',
  options: { mesh: { type: 'string' }, restart: { type: 'boolean' }, kubeconfig: { type: 'string' }, context: { type: 'string' } },
  async run(values, positionals, io) {
    const [action, ns] = positionals;
    if ((action !== 'add' && action !== 'remove') || !ns) throw new UsageError(`usage: ${this.usage}`);
    const mesh = (values.mesh as string | undefined) ?? 'trellis';
    // Loaded here only: the client library is large and no other command needs it.
    const [k8s, sdk] = await Promise.all([import('@kubernetes/client-node'), import('@trellis/plugin-sdk/kubernetes')]);
    const reason = sdk.apiErrorText;
    let kc: InstanceType<typeof k8s.KubeConfig>;
    try {
      kc = sdk.loadKubeConfig({ ...(typeof values.kubeconfig === 'string' && { kubeconfig: values.kubeconfig }), ...(typeof values.context === 'string' && { context: values.context }) });
    } catch (err) {
      throw new CliFailure((err as Error).message, 2);
    }
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    try {
      await core.patchNamespace({ name: ns, body: { metadata: { labels: { [MONITORED_BY]: action === 'add' ? mesh : null } } } }, merge);
    } catch (err) {
      throw new CliFailure(`labelling namespace ${ns}: ${reason(err)}`);
    }
    io.out(`namespace ${ns} ${action === 'add' ? `joined mesh ${mesh}` : 'left the mesh'}\n`);
    if (values.restart) {
      const apps = kc.makeApiClient(k8s.AppsV1Api);
      const list = await apps.listNamespacedDeployment({ namespace: ns }).catch((err: unknown) => {
        throw new CliFailure(`listing the Deployments of ${ns}: ${reason(err)}`);
      });
      const at = new Date().toISOString();
      for (const d of list.items) {
        const name = d.metadata?.name;
        if (!name) continue;
        // What `kubectl rollout restart` does: a changed pod-template annotation.
        try {
          await apps.patchNamespacedDeployment({ name, namespace: ns, body: { spec: { template: { metadata: { annotations: { 'trellis.io/restartedAt': at } } } } } }, merge);
        } catch (err) {
          throw new CliFailure(`restarting deployment ${ns}/${name}: ${reason(err)}`);
        }
        io.out(`restarted deployment ${ns}/${name}\n`);
      }
    }
    return 0;
  },
};
