/**
 * What the Kubernetes source does for the core's injector and identity service (the SDK's `clusterServices`),
 * through @kubernetes/client-node's typed clients on the source's own KubeConfig: bootstrap Secrets, the
 * MutatingWebhookConfiguration's `caBundle`, and TokenReviews.
 */
import { AdmissionregistrationV1Api, AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { backoffDelay, type BootstrapSecretWriter, type CaBundleSink, type Logger, type TokenReviewer } from '@trellis/plugin-sdk';
import { apiErrorText as apiReason } from '@trellis/plugin-sdk/kubernetes';

/** The API server's reason for a failed call (its Status message), else the error's own first line. */
export { apiErrorText as apiReason } from '@trellis/plugin-sdk/kubernetes';

/** Creates each pod's bootstrap Secret (`data` base64, labelled as the mesh's, owned by the pod's controller). */
export function bootstrapSecretWriter(kc: KubeConfig): BootstrapSecretWriter {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async write(s) {
      const data = Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
      try {
        await core.createNamespacedSecret({
          namespace: s.namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name: s.name,
              namespace: s.namespace,
              labels: { 'app.kubernetes.io/managed-by': 'trellis' },
              // Deleted by the garbage collector with the pod's controller; blockOwnerDeletion is not set (it
              // would need update on the owner's finalizers).
              ...(s.ownerReferences && s.ownerReferences.length > 0 && { ownerReferences: s.ownerReferences.map((o) => ({ ...o })) }),
            },
            type: 'Opaque',
            data,
          },
        });
      } catch (err) {
        throw new Error(`creating Secret ${s.namespace}/${s.name}: ${apiReason(err)}`, { cause: err });
      }
    },
  };
}

/** TokenReviews through the source's API server (any failure rejects: the identity request is then refused). */
export function tokenReviewer(kc: KubeConfig): TokenReviewer {
  const auth = kc.makeApiClient(AuthenticationV1Api);
  return {
    async review(token, audiences) {
      let r;
      try {
        r = await auth.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...audiences] } } });
      } catch (err) {
        throw new Error(`TokenReview at ${kc.getCurrentCluster()?.server ?? 'the API server'}: ${apiReason(err)}`, { cause: err });
      }
      const st = r.status;
      return {
        authenticated: st?.authenticated === true,
        ...(st?.user?.username ? { username: st.user.username } : {}),
        ...(st?.audiences ? { audiences: st.audiences } : {}),
        ...(st?.error ? { error: st.error } : {}),
      };
    },
  };
}

export interface WebhookCaBundle extends CaBundleSink {
  /** Whether the last bundle given is the one the configuration holds. */
  readonly current: boolean;
  stop(): void;
}

/**
 * Keeps every webhook's `clientConfig.caBundle` of the MutatingWebhookConfiguration `name()` equal to the last
 * bundle given: a JSON Patch guarded by each webhook's name (the configuration's order may change). A failure
 * (not installed yet, API down) is retried with backoff until it succeeds or a newer bundle replaces it.
 */
export function webhookCaBundle(kc: KubeConfig, name: () => string, logger: Logger, backoff = { baseMs: 500, maxMs: 30_000 }): WebhookCaBundle {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  let wanted: string | undefined;
  let done = false;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let wake: () => void = () => {};
  /** Resolved after the next attempt, whatever its outcome (the caller never waits for the retries). */
  const attempted: (() => void)[] = [];

  const attempt = async (pem: string): Promise<void> => {
    const b64 = Buffer.from(pem, 'utf8').toString('base64');
    const cfg = await api.readMutatingWebhookConfiguration({ name: name() });
    const hooks = cfg.webhooks ?? [];
    const ops = hooks.flatMap((h, i) =>
      h.clientConfig.caBundle === b64
        ? []
        : [
            { op: 'test', path: `/webhooks/${i}/name`, value: h.name },
            { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: b64 },
          ],
    );
    if (ops.length > 0) await api.patchMutatingWebhookConfiguration({ name: name(), body: ops });
  };
  const sync = async (): Promise<void> => {
    while (!stopped && wanted !== undefined && !done) {
      const pem = wanted;
      try {
        await attempt(pem);
        if (wanted === pem) done = true;
        failures = 0;
        logger.info('webhook caBundle is current', { mutatingWebhookConfiguration: name() });
      } catch (err) {
        failures++;
        const delay = backoffDelay(failures, backoff);
        logger.warn('updating the webhook caBundle failed; retrying', { mutatingWebhookConfiguration: name(), error: apiReason(err), retryInMs: Math.round(delay) });
        for (const r of attempted.splice(0)) r();
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, delay);
        });
        continue;
      }
      for (const r of attempted.splice(0)) r();
    }
    for (const r of attempted.splice(0)) r();
  };
  return {
    get current() {
      return done;
    },
    update(pem) {
      wanted = pem;
      done = false;
      const next = new Promise<void>((r) => attempted.push(r));
      if (!running) {
        running = true;
        void sync().finally(() => (running = false));
      } else {
        // A newer bundle: try it now rather than after the backoff.
        if (timer) clearTimeout(timer);
        wake();
      }
      return next;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake();
    },
  };
}
