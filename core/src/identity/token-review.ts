import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/plugin-sdk/kubernetes';
import type { TokenReviewer } from './authenticators.ts';

/** A TokenReviewer against the cluster's API server (the SDK's lookup: in-cluster, $KUBECONFIG, ~/.kube/config). */
export function kubernetesTokenReviewer(kc: KubeConfig = loadKubeConfig()): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return tokenReviewerFor(api);
}

/** The review through any AuthenticationV1Api (tests pass a client pointed at a fake API server). */
export function tokenReviewerFor(api: Pick<AuthenticationV1Api, 'createTokenReview'>): TokenReviewer {
  return {
    async review(token, audiences) {
      const r = await api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...audiences] } } });
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
