import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { CaBackend } from './backend.ts';
import { CA_FILES, newCaFileContent, parseMaterial, type CaMaterial, type CaOptions, type CaState, type RootRotationPhase } from './ca-store.ts';
import { apiErrorText, statusOf } from './kube.ts';

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

/** The three CA slots, by the Secret's data keys (the state directory's file names): PEM certificate + key. */
type Slots = Partial<Record<(typeof CA_FILES)[keyof typeof CA_FILES], string>>;

const SLOT_KEYS = Object.values(CA_FILES);
/** Optimistic-concurrency retries of a rotation step when another replica wrote the Secret meanwhile. */
const CONFLICT_RETRIES = 3;

function slotsOf(secret: V1Secret): Slots {
  const out: Slots = {};
  for (const k of SLOT_KEYS) {
    const b64 = secret.data?.[k];
    if (b64 !== undefined) out[k] = Buffer.from(b64, 'base64').toString('utf8');
  }
  return out;
}

/** The Secret's data apart from the CA slots (kept as they are). */
const otherData = (secret: V1Secret): Record<string, string> => Object.fromEntries(Object.entries(secret.data ?? {}).filter(([k]) => !(SLOT_KEYS as readonly string[]).includes(k)));

const dataOf = (slots: Slots): Record<string, string> =>
  Object.fromEntries(Object.entries(slots).flatMap(([k, v]) => (v === undefined ? [] : [[k, Buffer.from(v, 'utf8').toString('base64')]])));

/**
 * The next slots after one root-rotation step (the same transitions as the state directory's, ca-store.ts),
 * or an Error saying why the step does not apply.
 */
async function rotated(s: Slots, phase: RootRotationPhase, opts: CaOptions): Promise<Slots | Error> {
  if (phase === 'prepare') {
    if (s[CA_FILES.previous] !== undefined) return new Error(`a previous root (${CA_FILES.previous}) is still trusted: retire it before preparing another rotation`);
    if (s[CA_FILES.next] !== undefined) return new Error(`a new root is already prepared (${CA_FILES.next}): promote it`);
    return { ...s, [CA_FILES.next]: await newCaFileContent(opts) };
  }
  if (phase === 'promote') {
    const next = s[CA_FILES.next];
    if (next === undefined) return new Error(`no prepared root (${CA_FILES.next}): run the prepare step first`);
    const { [CA_FILES.next]: _staged, ...rest } = s;
    return { ...rest, [CA_FILES.current]: next, [CA_FILES.previous]: s[CA_FILES.current] };
  }
  if (s[CA_FILES.previous] === undefined) return new Error(`no previous root to retire (${CA_FILES.previous})`);
  const { [CA_FILES.previous]: _retired, ...rest } = s;
  return rest;
}

/**
 * The CA state in a Kubernetes Secret, so every controller replica shares one CA. The Secret is created once
 * with create-if-absent semantics: a 409 AlreadyExists means another replica won the race, and its CA is read
 * and used. Rotation steps are read-modify-write updates carrying the resourceVersion (409 Conflict: re-read
 * and re-check). Error messages carry the API server's Status message, never the Secret's data.
 */
export function secretBackend(api: CoreV1Api, ref: SecretRef, opts: CaOptions): CaBackend {
  const where = `secret ${ref.namespace}/${ref.name}`;
  const failed = (verb: string, err: unknown): Error => new Error(`${where}: ${verb}: ${apiErrorText(err)}`, { cause: statusOf(err) });

  const read = async (): Promise<V1Secret | undefined> => {
    try {
      return await api.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw failed('get', err);
    }
  };

  const stateOf = (secret: V1Secret): CaState => {
    const slots = slotsOf(secret);
    const current = slots[CA_FILES.current];
    if (current === undefined) throw new Error(`${where} has no ${CA_FILES.current}`);
    const issuing = parseMaterial(current, `${where} key ${CA_FILES.current}`);
    const roots: CaMaterial[] = [issuing];
    for (const k of [CA_FILES.next, CA_FILES.previous]) {
      const text = slots[k];
      if (text === undefined) continue;
      const m = parseMaterial(text, `${where} key ${k}`);
      if (!roots.some((r) => r.fingerprint === m.fingerprint)) roots.push(m);
    }
    return { issuing, roots, version: secret.metadata?.resourceVersion ?? '' };
  };

  const body = (slots: Slots, resourceVersion?: string): V1Secret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'trellis', 'app.kubernetes.io/component': 'ca' },
      ...(resourceVersion !== undefined && { resourceVersion }),
    },
    data: dataOf(slots),
  });

  const missing = `no CA in ${where}; CLI commands never create a root: start the controller with this config once (it creates the Secret on first start), or point caSecret at the controller's`;

  return {
    where,
    async loadOrCreate(create) {
      let secret = await read();
      let created = false;
      if (secret === undefined || slotsOf(secret)[CA_FILES.current] === undefined) {
        if (secret !== undefined && SLOT_KEYS.some((k) => slotsOf(secret!)[k] !== undefined))
          throw new Error(`${where} has no ${CA_FILES.current} but holds another root: the state is damaged; restore ${CA_FILES.current} from a backup rather than start a new root`);
        if (!create) throw new Error(missing);
        const fresh: Slots = { [CA_FILES.current]: await newCaFileContent(opts) };
        try {
          // An existing Secret without a CA (pre-created, e.g. for RBAC) is filled in; its resourceVersion
          // makes the update fail with 409 if another replica filled it first.
          if (secret === undefined) await api.createNamespacedSecret({ namespace: ref.namespace, body: body(fresh) });
          else await api.replaceNamespacedSecret({ name: ref.name, namespace: ref.namespace, body: { ...body(fresh, secret.metadata?.resourceVersion), data: { ...secret.data, ...dataOf(fresh) } } });
          created = true;
        } catch (err) {
          // 409: another replica won the race; use its CA.
          if (statusOf(err) !== 409) throw failed(secret === undefined ? 'create' : 'update', err);
        }
        secret = await read();
        if (secret === undefined) throw new Error(`${where} disappeared right after it was created`);
      }
      return { ...stateOf(secret), created };
    },
    async load() {
      const secret = await read();
      if (secret === undefined) throw new Error(missing);
      return stateOf(secret);
    },
    async version() {
      return (await read())?.metadata?.resourceVersion ?? '-';
    },
    async rotate(phase) {
      for (let attempt = 0; ; attempt++) {
        const secret = await read();
        if (secret === undefined) throw new Error(missing);
        const next = await rotated(slotsOf(secret), phase, opts);
        if (next instanceof Error) throw next;
        // Validates what is about to be written (a damaged staged root is refused before it issues).
        for (const k of SLOT_KEYS) if (next[k] !== undefined) parseMaterial(next[k], `${where} key ${k}`);
        try {
          await api.replaceNamespacedSecret({ name: ref.name, namespace: ref.namespace, body: { ...secret, data: { ...otherData(secret), ...dataOf(next) } } });
          return;
        } catch (err) {
          if (statusOf(err) !== 409 || attempt >= CONFLICT_RETRIES) throw failed(`rotation step ${phase}`, err);
        }
      }
    },
  };
}
