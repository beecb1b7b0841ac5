/**
 * The `policy explain` form: GET /debug/explain?from=&to=&port=&path=&method=&header=k=v (one `header` per line),
 * answered with at least `allowed` and `reasons`. A controller without the endpoint answers 404.
 */
import { el, replace } from './dom.ts';
import type { ExplainAnswer } from './types.ts';

export const EXPLAIN_UNAVAILABLE = 'explain is not available on this controller';

const text = (v: FormDataEntryValue | null): string => (typeof v === 'string' ? v : '');

export function explainQuery(form: FormData): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ['from', 'to', 'port', 'path', 'method']) {
    const v = text(form.get(k)).trim();
    if (v) q.set(k, v);
  }
  for (const line of text(form.get('header')).split('\n')) if (line.trim()) q.append('header', line.trim());
  return q;
}

export async function runExplain(q: URLSearchParams, out: HTMLElement): Promise<void> {
  replace(out, el('p', { class: 'hint' }, 'Asking the controller…'));
  let res: Response;
  try {
    res = await fetch(`/debug/explain?${q.toString()}`, { headers: { accept: 'application/json' } });
  } catch (err) {
    replace(out, el('p', { class: 'message error' }, `The controller did not answer: ${String(err)}`));
    return;
  }
  if (res.status === 404) {
    replace(out, el('p', { class: 'message', 'data-explain': 'unavailable' }, EXPLAIN_UNAVAILABLE));
    return;
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok || typeof body !== 'object' || body === null || typeof (body as ExplainAnswer).allowed !== 'boolean') {
    const msg = typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : `HTTP ${res.status}`;
    replace(out, el('p', { class: 'message error', 'data-explain': 'error' }, msg));
    return;
  }
  const answer = body as ExplainAnswer;
  const { allowed, reasons, ...rest } = answer;
  replace(
    out,
    el('p', { 'data-explain': allowed ? 'allowed' : 'denied' }, el('span', { class: `badge ${allowed ? 'allowed' : 'denied'}` }, allowed ? 'ALLOWED' : 'DENIED')),
    el('ul', { class: 'reasons' }, ...(Array.isArray(reasons) ? reasons : []).map((r) => el('li', {}, String(r)))),
    Object.keys(rest).length ? el('pre', {}, JSON.stringify(rest, null, 2)) : null,
  );
}
