/** Label and field selectors as the API server parses them (`a=b,c!=d,e in (x,y),!f`). */

type Obj = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;
type Test = (obj: Obj) => boolean;

/** Splits on commas outside parentheses. */
function terms(sel: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

/** A label selector's test, or an error message (the server answers 400). */
export function labelSelector(sel: string | null): Test | string {
  if (!sel) return () => true;
  const tests: Test[] = [];
  for (const t of terms(sel)) {
    const labels = (o: Obj): Record<string, string> => o.metadata?.labels ?? {};
    let m: RegExpMatchArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const vals = new Set(list.split(',').map((v) => v.trim()));
      tests.push(op === 'in' ? (o) => vals.has(labels(o)[key] ?? '\0') : (o) => !vals.has(labels(o)[key] ?? '\0'));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(t))) {
      const [, key, op, val] = m as unknown as [string, string, string, string];
      tests.push(op === '!=' ? (o) => labels(o)[key] !== val : (o) => labels(o)[key] === val);
    } else if ((m = /^!([\w./-]+)$/.exec(t))) {
      const key = m[1]!;
      tests.push((o) => !(key in labels(o)));
    } else if ((m = /^([\w./-]+)$/.exec(t))) {
      const key = m[1]!;
      tests.push((o) => key in labels(o));
    } else return `unable to parse requirement: ${JSON.stringify(t)}`;
  }
  return (o) => tests.every((f) => f(o));
}

function fieldValue(o: Obj, path: string): string | undefined {
  let v: unknown = o;
  for (const p of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A field selector's test (any dotted path; a real server allows only a few per kind). */
export function fieldSelector(sel: string | null): Test | string {
  if (!sel) return () => true;
  const tests: Test[] = [];
  for (const t of terms(sel)) {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(t);
    if (!m) return `invalid field selector: ${JSON.stringify(t)}`;
    const [, path, op, val] = m as unknown as [string, string, string, string];
    tests.push(op === '!=' ? (o) => (fieldValue(o, path) ?? '') !== val : (o) => (fieldValue(o, path) ?? '') === val);
  }
  return (o) => tests.every((f) => f(o));
}
