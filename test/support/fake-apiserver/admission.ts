/**
 * Mutating admission webhooks as the fake API server calls them on pod create (admission.k8s.io/v1): every
 * stored MutatingWebhookConfiguration's webhooks whose `rules` match (CREATE, group "", v1, pods) and whose
 * `namespaceSelector` (matchLabels, matchExpressions) selects the pod's namespace, in order. The call is an HTTPS
 * POST to `clientConfig.url`, verified against `clientConfig.caBundle`, within `timeoutSeconds` (default 10);
 * an error, timeout or malformed answer fails the create unless `failurePolicy: Ignore`. A `JSONPatch` answer is
 * applied; `allowed: false` rejects the create with the webhook's status. Not supported: `clientConfig.service`
 * (there is no cluster network), `objectSelector`, `matchPolicy`, `reinvocationPolicy`, other resources.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import fjp, { type Operation } from 'fast-json-patch';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export class AdmissionError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Whether a LabelSelector object selects `labels`. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRec(selector)) return true;
  const ml = isRec(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isRec) : []) {
    const key = String(e.key);
    const values = strings(e.values);
    const has = key in labels;
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function ruleMatches(rule: Rec): boolean {
  const any = (list: string[], v: string): boolean => list.includes('*') || list.includes(v);
  return any(strings(rule.operations), 'CREATE') && any(strings(rule.apiGroups), '') && any(strings(rule.apiVersions), 'v1') && any(strings(rule.resources), 'pods');
}

function post(url: string, ca: string | undefined, body: unknown, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(ca && { ca }), timeout: timeoutMs }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`the webhook answered HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(new Error(`the webhook's answer is not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Runs the matching webhooks on a pod about to be created; returns the (mutated) pod or throws AdmissionError. */
export async function admitPod(configs: readonly Rec[], pod: Rec, namespace: string, nsLabels: Record<string, string>, user: string): Promise<Rec> {
  let current = pod;
  for (const cfg of configs) {
    for (const hook of Array.isArray(cfg.webhooks) ? cfg.webhooks.filter(isRec) : []) {
      const rules = Array.isArray(hook.rules) ? hook.rules.filter(isRec) : [];
      if (!rules.some(ruleMatches) || !selects(hook.namespaceSelector, nsLabels)) continue;
      const name = String(hook.name);
      const ignore = hook.failurePolicy === 'Ignore';
      const cc = isRec(hook.clientConfig) ? hook.clientConfig : {};
      try {
        if (typeof cc.url !== 'string') throw new Error('clientConfig.url is required by the fake API server (no cluster network for clientConfig.service)');
        const uid = randomUUID();
        const meta = isRec(current.metadata) ? current.metadata : {};
        const review = {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid,
            kind: { group: '', version: 'v1', kind: 'Pod' },
            resource: { group: '', version: 'v1', resource: 'pods' },
            requestKind: { group: '', version: 'v1', kind: 'Pod' },
            requestResource: { group: '', version: 'v1', resource: 'pods' },
            ...(typeof meta.name === 'string' && { name: meta.name }),
            namespace,
            operation: 'CREATE',
            userInfo: { username: user, groups: ['system:authenticated'] },
            object: current,
            oldObject: null,
            dryRun: false,
            options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
          },
        };
        const ca = typeof cc.caBundle === 'string' ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : undefined;
        const timeoutMs = (typeof hook.timeoutSeconds === 'number' ? hook.timeoutSeconds : 10) * 1000;
        const answer = await post(cc.url, ca, review, timeoutMs);
        const res = isRec(answer) && isRec(answer.response) ? answer.response : undefined;
        if (!res || res.uid !== uid) throw new Error('the webhook answer has no response with the request uid');
        if (res.allowed !== true) {
          const st = isRec(res.status) ? res.status : {};
          throw new AdmissionError(typeof st.code === 'number' ? st.code : 400, 'Forbidden', `admission webhook "${name}" denied the request: ${typeof st.message === 'string' ? st.message : 'without a message'}`);
        }
        if (res.patch !== undefined) {
          if (res.patchType !== 'JSONPatch' || typeof res.patch !== 'string') throw new Error('a patch must be base64 JSONPatch (patchType: JSONPatch)');
          const ops = JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8')) as Operation[];
          current = fjp.applyPatch(fjp.deepClone(current), ops, true, false).newDocument as Rec;
        }
      } catch (err) {
        if (err instanceof AdmissionError) throw err;
        if (ignore) continue;
        throw new AdmissionError(500, 'InternalError', `Internal error occurred: failed calling webhook "${name}": ${(err as Error).message}`);
      }
    }
  }
  return current;
}
