import { randomUUID } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import fastJsonPatch from 'fast-json-patch';
import type { BootstrapSecretWriter, Counter, Histogram, Logger, Metrics } from '@trellis/plugin-sdk';
import { decide, injectPod, InjectionError, type InjectorSettings } from './pod-mutation.ts';

/** Writes a pod's bootstrap Secret (the Kubernetes source implements it with the API; tests record). */
export type { BootstrapSecretWriter } from '@trellis/plugin-sdk';

export interface AdmissionOutcome {
  /** 200 with an AdmissionReview, or 400 for a body that is not one. */
  readonly status: 200 | 400;
  readonly body: unknown;
}

interface Review {
  apiVersion: string;
  kind: string;
  request: { uid: string; kind?: { kind?: string }; operation?: string; namespace?: string; object?: unknown; dryRun?: boolean };
}

/**
 * The mutating admission logic (admission.k8s.io/v1): a Pod CREATE gets the sidecar (or proxyless gRPC) patch;
 * anything else is allowed unchanged; a pod whose annotations are invalid is refused with the reason. Never
 * throws on input.
 */
export class PodInjector {
  readonly #s: InjectorSettings;
  readonly #secrets: BootstrapSecretWriter;
  readonly #log: Logger;
  readonly #admissions: Counter;
  readonly #seconds: Histogram;
  readonly #uuid: () => string;

  constructor(o: { settings: InjectorSettings; secrets: BootstrapSecretWriter; logger: Logger; metrics: Metrics; uuid?: () => string }) {
    this.#s = o.settings;
    this.#secrets = o.secrets;
    this.#log = o.logger.child({ component: 'injector' });
    this.#uuid = o.uuid ?? randomUUID;
    this.#admissions = o.metrics.counter({ name: 'trellis_injector_admissions_total', help: 'AdmissionReviews answered, by result.', labelNames: ['result'] });
    this.#seconds = o.metrics.histogram({
      name: 'trellis_injector_admission_duration_seconds',
      help: 'Time to answer one AdmissionReview.',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    });
  }

  async review(body: unknown): Promise<AdmissionOutcome> {
    const t0 = performance.now();
    const done = (result: string, outcome: AdmissionOutcome) => {
      this.#admissions.inc({ result });
      this.#seconds.observe((performance.now() - t0) / 1000, { result });
      return outcome;
    };
    const problem = reviewProblem(body);
    if (problem) return done('bad_request', { status: 400, body: { error: problem } });
    const review = body as Review;
    const answer = (response: Record<string, unknown>) => ({ status: 200 as const, body: { apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, ...response } } });
    const req = review.request;
    if (req.kind?.kind !== 'Pod' || req.operation !== 'CREATE') return done('ignored', answer({ allowed: true }));
    const pod = req.object;
    if (typeof pod !== 'object' || pod === null || Array.isArray(pod)) return done('refused', answer(refusal('request.object must be the Pod')));
    const p = pod as V1Pod;
    const namespace = req.namespace ?? p.metadata?.namespace;
    if (!namespace) return done('refused', answer(refusal('the pod has no namespace (request.namespace is empty)')));
    if (!Array.isArray(p.spec?.containers)) return done('refused', answer(refusal('request.object.spec.containers must be a list')));
    try {
      const decision = decide(p);
      if (!decision.inject) return done('skipped', answer({ allowed: true, warnings: [] }));
      const injected = injectPod(p, namespace, decision.kind, this.#s, this.#uuid());
      if (!req.dryRun) await this.#secrets.write(injected.secret);
      const patch = fastJsonPatch.compare(p as object, injected.pod as object);
      this.#log.debug('pod injected', { namespace, pod: p.metadata?.name ?? p.metadata?.generateName, nodeId: injected.nodeId });
      return done('injected', answer({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }));
    } catch (err) {
      if (err instanceof InjectionError) return done('refused', answer(refusal(err.message)));
      this.#log.warn('injection failed', { namespace, error: (err as Error).message });
      return done('error', answer(refusal(`injection failed: ${(err as Error).message}`, 500)));
    }
  }
}

function refusal(message: string, code = 400): Record<string, unknown> {
  return { allowed: false, status: { code, message: `trellis: ${message}` } };
}

function reviewProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be an AdmissionReview object';
  const b = body as Partial<Review>;
  if (b.apiVersion !== 'admission.k8s.io/v1') return `apiVersion must be admission.k8s.io/v1, got ${JSON.stringify(b.apiVersion)}`;
  if (b.kind !== 'AdmissionReview') return `kind must be AdmissionReview, got ${JSON.stringify(b.kind)}`;
  if (typeof b.request !== 'object' || b.request === null) return 'request is missing';
  if (typeof b.request.uid !== 'string' || b.request.uid === '') return 'request.uid must be a non-empty string';
  return undefined;
}
