import { readFile } from 'node:fs/promises';
import { parse as parseYaml, stringify } from 'yaml';
import { TypeUrls } from '@trellis/plugin-sdk';
import { validateBootstrap, validateConfigDump, validateEnvoyResource } from '../../xds/validate/index.ts';
import { UsageError, type Command } from '../args.ts';

const TYPE_ALIASES: Record<string, string> = {
  listeners: TypeUrls.listener,
  routes: TypeUrls.route,
  clusters: TypeUrls.cluster,
  endpoints: TypeUrls.endpoint,
  secrets: TypeUrls.secret,
};

/** Decides what a file holds: an admin config dump, a bootstrap, or one resource carrying `@type`. */
function validateDocument(doc: Record<string, unknown>, forced: string | undefined): { what: string; problems: string[] } {
  if (forced === 'bootstrap' || (!forced && ('static_resources' in doc || 'dynamic_resources' in doc) && !('configs' in doc)))
    return { what: 'bootstrap (envoy.config.bootstrap.v3.Bootstrap)', problems: validateBootstrap(doc) };
  if (forced === 'config-dump' || (!forced && 'configs' in doc)) return { what: 'config dump (envoy.admin.v3.ConfigDump)', problems: validateConfigDump(doc) };
  const type = forced ?? (typeof doc['@type'] === 'string' ? doc['@type'] : undefined);
  if (!type) throw new UsageError('cannot tell what the file holds: pass --type bootstrap|config-dump|<type url or message name>, or give the object an "@type"');
  const { '@type': _t, ...body } = doc;
  return { what: type, problems: validateEnvoyResource(type, body) };
}

export const proxyConfigCommand: Command = {
  name: 'proxy-config',
  summary: "Validate Envoy config strictly against Envoy's protos and rules, or show a connected proxy's resources.",
  usage:
    'trellis proxy-config validate FILE [--type bootstrap|config-dump|TYPE]\n       trellis proxy-config get PROXY_ID [--type listeners|routes|clusters|endpoints|secrets] [--admin URL] [-o yaml|json]',
  options: { type: { type: 'string', short: 't' }, admin: { type: 'string' }, output: { type: 'string', short: 'o' } },
  async run(values, positionals, io) {
    const [sub, arg] = positionals;
    if (sub === 'validate') {
      if (!arg) throw new UsageError('proxy-config validate needs a FILE (JSON or YAML)');
      const text = await readFile(arg, 'utf8');
      let doc: unknown;
      try {
        doc = arg.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
      } catch (err) {
        io.err(`${arg}: not parsable: ${(err as Error).message}\n`);
        return 2;
      }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
        io.err(`${arg}: expected one object at the top level\n`);
        return 2;
      }
      const { what, problems } = validateDocument(doc as Record<string, unknown>, values.type as string | undefined);
      if (problems.length === 0) {
        io.out(`${arg}: valid ${what}\n`);
        return 0;
      }
      for (const p of problems) io.err(`${arg}: ${p}\n`);
      io.err(`${arg}: ${problems.length} problem(s) in ${what}\n`);
      return 2;
    }
    if (sub === 'get') {
      if (!arg) throw new UsageError('proxy-config get needs a PROXY_ID (see /debug/proxies)');
      const admin = (values.admin as string | undefined) ?? 'http://127.0.0.1:9091';
      const res = await fetch(`${admin}/debug/proxies/${encodeURIComponent(arg)}`);
      if (!res.ok) {
        io.err(`${admin}: proxy "${arg}" not found (${res.status})\n`);
        return 1;
      }
      const body = (await res.json()) as { resources?: Record<string, unknown[]> };
      const want = values.type ? (TYPE_ALIASES[values.type as string] ?? (values.type as string)) : undefined;
      const out = want ? { [want]: body.resources?.[want] ?? [] } : body;
      io.out(values.output === 'json' ? `${JSON.stringify(out, null, 2)}\n` : stringify(out));
      return 0;
    }
    throw new UsageError(`unknown proxy-config subcommand "${sub ?? ''}" (validate or get)`);
  },
};
