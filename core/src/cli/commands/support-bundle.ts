import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { stringify } from 'yaml';
import { serverVersion } from '../../admin/version.ts';
import { loadConfig } from '../../config/load.ts';
import { effectiveConfig } from '../../config/redact.ts';
import type { ProxyInfo } from '../../xds/index.ts';
import type { Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, CliFailure, adminUrl, adminOptions, outputFormat, outputOptions, render } from '../output.ts';
import { proxyStatus } from '../proxy-state.ts';
import { tarGz } from '../tar.ts';

/** Debug pages that answer a question (they need input), not state to collect. */
const INPUT_PAGES = new Set(['explain', 'diff']);
const LOG_LINES = 5000;
const PRIVATE_KEY_PEM = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;

/** Defence in depth: the admin API already redacts key material; anything PEM-shaped that slipped through goes too. */
export function scrub(text: string): string {
  return text.replace(PRIVATE_KEY_PEM, '[redacted private key]');
}

async function fetchText(base: string, path: string): Promise<string> {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  if (!res.ok && !(path.startsWith('/readyz') && res.status === 503)) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

const pretty = (text: string): string => {
  try {
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  } catch {
    return text;
  }
};

export const supportBundleCommand: Command = {
  name: 'support bundle',
  summary: 'Write one archive for a bug report: redacted config, versions, /debug/* outputs, proxy statuses, metrics, recent logs (no private keys).',
  usage: 'trellis support bundle [--out FILE] [--logs FILE]... [--admin URL | --config FILE] [-o table|json|yaml]',
  options: { out: { type: 'string' }, logs: { type: 'string', multiple: true }, ...adminOptions, ...outputOptions },
  optionHelp: {
    out: 'the archive to write (default trellis-support-<time>.tar.gz)',
    logs: `a controller log file to include (its last ${LOG_LINES} lines; repeatable)`,
    ...ADMIN_HELP,
    ...OUTPUT_HELP,
  },
  examples: ['trellis support bundle --config trellis.yaml', 'trellis support bundle --admin http://127.0.0.1:9091 --logs /var/log/trellis.log --out bug-123.tar.gz'],
  async run(values, _pos, io) {
    const format = outputFormat(values, io);
    const files = new Map<string, string>();
    const problems: string[] = [];
    const collect = async (name: string, get: () => Promise<string>): Promise<void> => {
      try {
        files.set(name, await get());
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
      }
    };
    const configFile = typeof values.config === 'string' ? values.config : undefined;
    if (configFile) await collect('config.yaml', async () => stringify(effectiveConfig(await loadConfig(configFile))));
    const base = await adminUrl(values);
    const client = serverVersion();
    await collect('version.json', async () => pretty(JSON.stringify({ client, server: JSON.parse(await fetchText(base, '/version')) as unknown })));
    if (!files.has('version.json')) files.set('version.json', pretty(JSON.stringify({ client })));
    await collect('readyz.json', () => fetchText(base, '/readyz?verbose').then(pretty));
    await collect('metrics.txt', () => fetchText(base, '/metrics'));
    let pages: string[] = [];
    await collect('debug/index.json', async () => {
      const text = await fetchText(base, '/debug');
      pages = ((JSON.parse(text) as { pages?: string[] }).pages ?? []).map((p) => p.replace(/^\/debug\//, ''));
      return pretty(text);
    });
    for (const page of pages.filter((p) => !INPUT_PAGES.has(p))) await collect(`debug/${page}.json`, () => fetchText(base, `/debug/${encodeURIComponent(page)}`).then(pretty));
    const proxies = files.has('debug/proxies.json') ? (JSON.parse(files.get('debug/proxies.json') as string) as ProxyInfo[]) : [];
    files.set('proxy-status.json', pretty(JSON.stringify(proxies.map(proxyStatus))));
    for (const p of proxies) await collect(`debug/proxies/${p.streamId}.json`, () => fetchText(base, `/debug/proxies/${encodeURIComponent(p.streamId)}`).then(pretty));
    for (const [i, f] of ((values.logs as string[] | undefined) ?? []).entries())
      await collect(`logs/${i}-${basename(f)}`, async () => `${(await readFile(f, 'utf8')).split('\n').slice(-LOG_LINES - 1).join('\n')}`);
    if (problems.length) files.set('collection-problems.txt', `${problems.join('\n')}\n`);
    if (!files.has('readyz.json') && !files.has('debug/index.json')) throw new CliFailure(`cannot collect from the admin API at ${base}:\n  ${problems.join('\n  ')}`);
    const scrubbed = new Map([...files].map(([k, v]) => [`trellis-support/${k}`, scrub(v)]));
    const out = typeof values.out === 'string' ? values.out : `trellis-support-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
    await writeFile(out, tarGz(scrubbed), { mode: 0o600 });
    const manifest = { archive: out, files: [...scrubbed.keys()], problems };
    render(io, format, manifest, () => `wrote ${out} (${scrubbed.size} files${problems.length ? `; ${problems.length} could not be collected, see collection-problems.txt` : ''})\n`);
    return 0;
  },
};
