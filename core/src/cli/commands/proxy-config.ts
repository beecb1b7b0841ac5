import { readFile } from 'node:fs/promises';
import { parse as parseYaml, stringify } from 'yaml';
import { TypeUrls } from '@trellis/plugin-sdk';
import { validateBootstrap, validateConfigDump, validateEnvoyResource } from '../../xds/validate/index.ts';
import { UsageError, type Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, CliFailure, adminOptions, adminUrl, outputFormat, outputOptions, render } from '../output.ts';
import { KIND_TYPES, findProxy, summaryTable, type ResourceKind } from '../proxy-config-view.ts';

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
  summary: "Show a connected proxy's xDS resources (secrets redacted), or validate Envoy config strictly against Envoy's protos.",
  usage:
    'trellis proxy-config <listeners|routes|clusters|endpoints|secrets|all> PROXY [--admin URL | --config FILE] [-o table|json|yaml]\n       trellis proxy-config validate FILE [--type bootstrap|config-dump|TYPE]\n       trellis proxy-config get PROXY_ID [--type listeners|routes|clusters|endpoints|secrets] [--admin URL] [-o yaml|json]',
  options: { type: { type: 'string', short: 't' }, ...adminOptions, ...outputOptions },
  optionHelp: { type: 'validate: what FILE holds; get: one resource type', ...ADMIN_HELP, ...OUTPUT_HELP },
  examples: [
    'trellis proxy-config listeners bookstore-v1',
    'trellis proxy-config clusters 5b1e0d3c -o yaml',
    'trellis proxy-config all 5b1e0d3c-0b8e-4f7a-9d55-4a2b1f0c9e11.sidecar.bookstore-v1.bookstore.cluster.local -o json',
    'trellis proxy-config validate envoy-dump.json',
  ],
  async run(values, positionals, io) {
    const [sub, arg] = positionals;
    if (sub !== undefined && (sub in KIND_TYPES || sub === 'all' || sub === 'bootstrap')) {
      if (sub === 'bootstrap')
        throw new CliFailure('the controller does not keep bootstraps (they hold key material): `trellis bootstrap envoy|grpc --identity NS/SA --config FILE --out DIR` writes one', 2);
      if (!arg) throw new UsageError(`proxy-config ${sub} needs a PROXY (a node id, or a unique part of one; see trellis proxy-status)`);
      const format = outputFormat(values, io);
      const proxy = await findProxy(await adminUrl(values), arg);
      const kinds = sub === 'all' ? (Object.keys(KIND_TYPES) as ResourceKind[]) : [sub as ResourceKind];
      const data = Object.fromEntries(kinds.map((k) => [k, proxy.resources[KIND_TYPES[k]] ?? []]));
      render(io, format, sub === 'all' ? { nodeId: proxy.nodeId, identity: proxy.identity, ...data } : data[sub], () =>
        kinds.map((k) => `${kinds.length > 1 ? `${k.toUpperCase()}\n` : ''}${summaryTable(k, data[k] ?? [])}`).join('\n'),
      );
      return 0;
    }
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
    throw new UsageError(`unknown proxy-config subcommand "${sub ?? ''}" (listeners, routes, clusters, endpoints, secrets, all, validate or get)`);
  },
};
