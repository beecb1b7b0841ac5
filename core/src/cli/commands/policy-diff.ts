import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '@trellis/plugin-sdk';
import type { PolicyDiffResult } from '../../controller/policy-diff.ts';
import { UsageError, type Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, CliFailure, adminOptions, adminUrl, outputFormat, outputOptions, render } from '../output.ts';

/** The objects of YAML (multi-document, `kind: List` expanded) or JSON files. */
export async function readObjects(files: readonly string[]): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8');
    const docs = parseAllDocuments(text);
    for (const [i, d] of docs.entries()) {
      if (d.errors.length) throw new CliFailure(`${f}: document ${i + 1}: ${d.errors[0]?.message ?? 'not parsable'}`, 2);
      const v = d.toJS() as unknown;
      if (v === null || v === undefined) continue;
      if (typeof v !== 'object' || Array.isArray(v)) throw new CliFailure(`${f}: document ${i + 1}: expected an object`, 2);
      const o = v as KubeObject & { items?: unknown[] };
      if (o.kind === 'List' && Array.isArray(o.items)) out.push(...(o.items as KubeObject[]));
      else out.push(o);
    }
  }
  return out;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

function diffText(r: PolicyDiffResult): string {
  const lines: string[] = [];
  for (const v of r.validation) lines.push(`${v.status === 'invalid' ? 'INVALID' : 'IGNORED'} ${v.object}: ${v.reason}`);
  if (r.validation.length) lines.push('');
  lines.push(r.proxies.length === 0 ? `No proxy would change (${r.unchanged.length} connected families checked).` : `${r.proxies.length} proxy famil${r.proxies.length === 1 ? 'y' : 'ies'} would change (${r.unchanged.length} unchanged):`);
  for (const p of r.proxies) {
    lines.push('', `${p.identity} (${p.kind})`);
    if (p.error) lines.push(`  ! the new config would not build: ${p.error} (proxies would keep their last good config)`);
    for (const a of p.added) lines.push(`  + ${a.type} ${a.name}`);
    for (const a of p.removed) lines.push(`  - ${a.type} ${a.name}`);
    for (const c of p.changed) {
      lines.push(`  ~ ${c.type} ${c.name}`);
      for (const op of c.diff) {
        if (op.op === 'add') lines.push(`      + ${op.path}: ${show(op.value)}`);
        else if (op.op === 'remove') lines.push(`      - ${op.path}: ${show(op.old)}`);
        else if (op.op === 'replace') lines.push(`      ~ ${op.path}: ${show(op.old)} -> ${show(op.value)}`);
        else lines.push(`      ${op.op} ${op.path}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export const policyDiffCommand: Command = {
  name: 'policy diff',
  summary: 'Dry-run a policy change against the running mesh: per proxy, the xDS resources added, removed and changed, and validation errors.',
  usage: 'trellis policy diff FILE... [--delete FILE]... [--admin URL | --config FILE] [-o table|json|yaml]',
  options: { delete: { type: 'string', short: 'd', multiple: true }, ...adminOptions, ...outputOptions },
  optionHelp: { delete: 'a file whose objects would be deleted (repeatable)', ...ADMIN_HELP, ...OUTPUT_HELP },
  examples: [
    'trellis policy diff examples/bookstore/policies/split.yaml',
    'trellis policy diff new-access.yaml --delete old-access.yaml -o json',
  ],
  async run(values, positionals, io) {
    const deletes = (values.delete as string[] | undefined) ?? [];
    if (positionals.length === 0 && deletes.length === 0) throw new UsageError('policy diff needs FILE... (objects to apply) and/or --delete FILE');
    const format = outputFormat(values, io);
    const body = { apply: await readObjects(positionals), delete: await readObjects(deletes) };
    const base = await adminUrl(values);
    let res: Response;
    try {
      res = await fetch(`${base}/debug/diff`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (err) {
      throw new CliFailure(`cannot reach the admin API at ${base} (${(err as Error).message}); is the controller running?`);
    }
    const out = (await res.json()) as PolicyDiffResult & { error?: string };
    if (!res.ok) throw new CliFailure(`${base}/debug/diff: ${res.status} ${out.error ?? ''}`, res.status === 400 ? 2 : 1);
    render(io, format, out, () => diffText(out));
    return out.validation.some((v) => v.status === 'invalid') ? 2 : 0;
  },
};
