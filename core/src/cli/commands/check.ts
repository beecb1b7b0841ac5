import { createServer } from 'node:net';
import semver from 'semver';
import { ConfigError, loadConfig, type LoadedConfig } from '../../config/load.ts';
import { defaultParts } from '../../controller/parts.ts';
import { planMesh } from '../../kernel/mesh.ts';
import type { PolicyStatus } from '../../store/index.ts';
import { CORE_VERSION } from '../../version.ts';
import type { ProxyInfo } from '../../xds/index.ts';
import { splitHostPort } from '../../admin/listen.ts';
import type { Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, CliFailure, adminGet, adminOptions, adminUrl, outputFormat, outputOptions, render } from '../output.ts';
import { hasNack, inSync, proxyStatus } from '../proxy-state.ts';

export type CheckStatus = 'pass' | 'fail' | 'warn';
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail?: readonly string[];
}
export interface CheckGroup {
  readonly name: string;
  readonly checks: CheckResult[];
}

const DAY = 86_400_000;
/** A CA root closer than this to its end is a warning: time to plan a rotation. */
const CA_HORIZON_DAYS = 30;

const pass = (name: string, detail?: string[]): CheckResult => ({ name, status: 'pass', ...(detail?.length && { detail }) });
const fail = (name: string, detail: string[]): CheckResult => ({ name, status: 'fail', detail });
const warn = (name: string, detail: string[]): CheckResult => ({ name, status: 'warn', detail });

async function configGroup(file: string): Promise<{ group: CheckGroup; config?: LoadedConfig }> {
  const g: CheckGroup = { name: 'config', checks: [] };
  try {
    const config = await loadConfig(file);
    g.checks.push(pass(`${file} is valid`, (config.warnings ?? []).map((w) => `warning ${w.path}: ${w.message}`)));
    const plan = planMesh(config, defaultParts);
    g.checks.push(plan.problems.length ? fail('the component graph can start', plan.problems.map((p) => `${p.code} ${p.path}: ${p.message}`)) : pass('the component graph can start'));
    return { group: g, config };
  } catch (err) {
    if (err instanceof ConfigError) g.checks.push(fail(`${file} is valid`, err.problems.map((p) => `${p.code} ${p.path ? `${p.path}: ` : ''}${p.message}`)));
    else g.checks.push(fail(`${file} is valid`, [(err as Error).message]));
    return { group: g };
  }
}

function canBind(address: string): Promise<string | undefined> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(`${address}: ${err.code ?? err.message}`));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

/** Before the controller runs: Node version, the config and its graph, the listen addresses free. */
async function preChecks(file: string | undefined): Promise<CheckGroup[]> {
  const env: CheckGroup = { name: 'environment', checks: [] };
  env.checks.push(semver.satisfies(process.version, '>=20.19') ? pass(`Node.js ${process.version} (>= 20.19)`) : fail('Node.js >= 20.19', [`running ${process.version}`]));
  if (!file) return [env, { name: 'config', checks: [fail('a config file is given', ['pass --config FILE'])] }];
  const { group, config } = await configGroup(file);
  const groups = [env, group];
  if (config) {
    const ports: CheckGroup = { name: 'ports', checks: [] };
    const s = config.settings;
    const addresses = [
      ['admin API', s.admin.address as string | false],
      ['ADS (mTLS)', s.xds.address],
      ['ADS (plaintext)', s.xds.plaintextAddress],
    ] as const;
    for (const [what, a] of addresses) {
      if (typeof a !== 'string' || splitHostPort(a).port === 0) continue;
      const problem = await canBind(a);
      ports.checks.push(problem ? fail(`${what} address ${a} is free`, [problem]) : pass(`${what} address ${a} is free`));
    }
    groups.push(ports);
  }
  return groups;
}

interface Readyz {
  status: string;
  checks?: { name: string; type: string; state: string; ready: boolean; reason?: string }[];
}

/** Against the running controller, through its admin API. */
async function liveChecks(base: string): Promise<CheckGroup[]> {
  const ctl: CheckGroup = { name: 'controller', checks: [] };
  let server: { version: string };
  try {
    server = await adminGet<{ version: string }>(base, '/version');
  } catch (err) {
    ctl.checks.push(fail(`admin API reachable at ${base}`, [(err as Error).message]));
    return [ctl];
  }
  ctl.checks.push(pass(`admin API reachable at ${base}`));
  ctl.checks.push(server.version === CORE_VERSION ? pass(`controller version ${server.version} matches the client`) : warn('controller and client versions match', [`controller ${server.version}, client ${CORE_VERSION}`]));

  const readyz = await adminGet<Readyz>(base, '/readyz?verbose').catch((err: unknown) => {
    // 503 carries the same body; adminGet turned it into an error, so ask again without failing on status.
    if (err instanceof CliFailure) return fetch(`${base}/readyz?verbose`).then((r) => r.json() as Promise<Readyz>);
    throw err;
  });
  const comp = (name: string) => readyz.checks?.find((c) => c.name === name);
  const compCheck = (label: string, name: string): CheckResult => {
    const c = comp(name);
    if (!c) return fail(label, [`no component "${name}" in /readyz`]);
    return c.ready ? pass(label) : fail(label, [`${name}: ${c.state}${c.reason ? `: ${c.reason}` : ''}`]);
  };

  const plugins: CheckGroup = { name: 'plugins', checks: [] };
  for (const c of (readyz.checks ?? []).filter((x) => x.type === 'plugin'))
    plugins.checks.push(c.ready ? pass(`plugin ${c.name} is running`) : fail(`plugin ${c.name} is running`, [`${c.state}${c.reason ? `: ${c.reason}` : ''}`]));
  if (plugins.checks.length === 0) plugins.checks.push(fail('plugins are loaded', ['/readyz lists no plugin']));

  const sources: CheckGroup = { name: 'sources', checks: [compCheck('every source reported its first full sync', 'sources-synced')] };
  const policies = await adminGet<{ policies: PolicyStatus[]; sourceErrors: { source: string; message: string; file?: string; line?: number }[] }>(base, '/debug/policies');
  sources.checks.push(
    policies.sourceErrors.length
      ? warn('sources report no errors', policies.sourceErrors.map((e) => `${e.source}${e.file ? ` ${e.file}${e.line ? `:${e.line}` : ''}` : ''}: ${e.message}`))
      : pass('sources report no errors'),
  );

  const certs: CheckGroup = { name: 'certificates', checks: [compCheck('certificate manager is ready', 'certificate-manager')] };
  const ca = await adminGet<{ ready: boolean; roots: { subject: string; notAfter: string }[] }>(base, '/debug/ca');
  const now = Date.now();
  const expired = ca.roots.filter((r) => Date.parse(r.notAfter) <= now);
  const soon = ca.roots.filter((r) => Date.parse(r.notAfter) > now && Date.parse(r.notAfter) - now < CA_HORIZON_DAYS * DAY);
  const ends = ca.roots.map((r) => `${r.subject.replace(/\n/g, ', ')}: valid until ${r.notAfter}`);
  if (!ca.ready || ca.roots.length === 0) certs.checks.push(fail('the CA has a trust bundle', ['no root certificates yet']));
  else if (expired.length) certs.checks.push(fail('CA roots are valid', ends));
  else if (soon.length) certs.checks.push(warn(`CA roots are valid for more than ${CA_HORIZON_DAYS} days`, ends));
  else certs.checks.push(pass(`CA roots are valid for more than ${CA_HORIZON_DAYS} days`, ends));
  const issued = await adminGet<{ key: string; notAfter: string; rotationFailing: boolean }[]>(base, '/debug/certs');
  const failing = issued.filter((c) => c.rotationFailing || Date.parse(c.notAfter) <= now);
  certs.checks.push(failing.length ? fail('issued certificates are current and rotating', failing.map((c) => `${c.key}: ${c.rotationFailing ? 'rotation failing' : 'expired'} (not after ${c.notAfter})`)) : pass(`${issued.length} issued certificate(s) current`));

  const xds: CheckGroup = { name: 'xds', checks: [compCheck('ADS is listening', 'xds-server')] };
  const proxies = (await adminGet<ProxyInfo[]>(base, '/debug/proxies')).map(proxyStatus);
  xds.checks.push(pass(`${proxies.length} proxy(ies) connected`));
  const stale = proxies.filter((p) => !inSync(p) && !hasNack(p));
  xds.checks.push(stale.length ? warn('proxies are in sync', stale.map((p) => `${p.nodeId}: ${Object.entries(p.types).filter(([, t]) => t.state === 'STALE').map(([k]) => k).join(', ')} not ACKed yet`)) : pass('proxies are in sync'));
  const nacked = proxies.filter(hasNack);
  xds.checks.push(nacked.length ? fail('no proxy rejected its config (NACK)', nacked.map((p) => `${p.nodeId}: ${p.lastNack?.type ?? ''} ${p.lastNack?.message ?? ''}`)) : pass('no proxy rejected its config (NACK)'));

  const pol: CheckGroup = { name: 'policies', checks: [] };
  const invalid = policies.policies.filter((p) => p.status === 'invalid');
  const ignored = policies.policies.filter((p) => p.status === 'ignored');
  const line = (p: PolicyStatus) => `${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}: ${p.reason ?? p.status}${p.file ? ` (${p.file}${p.line ? `:${p.line}` : ''})` : ''}`;
  pol.checks.push(invalid.length ? fail('no invalid policies', invalid.map(line)) : pass(`no invalid policies (${policies.policies.length} checked)`));
  pol.checks.push(ignored.length ? warn('no ignored policies', ignored.map(line)) : pass('no ignored policies'));
  return [ctl, plugins, sources, certs, xds, pol];
}

const MARK: Record<CheckStatus, string> = { pass: '√', fail: '×', warn: '‼' };

function checkText(groups: readonly CheckGroup[], ok: boolean): string {
  const out: string[] = [];
  for (const g of groups) {
    out.push(g.name, '-'.repeat(g.name.length));
    for (const c of g.checks) {
      out.push(`${MARK[c.status]} ${c.name}`);
      for (const d of c.detail ?? []) out.push(`    ${d}`);
    }
    out.push('');
  }
  out.push(`Status check results are ${ok ? '√' : '×'}`);
  return `${out.join('\n')}\n`;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Check the running mesh (or, with --pre, the host and config before starting): grouped pass/fail lines; exit 1 on a failure.',
  usage: 'trellis check [--pre] [--admin URL | --config FILE] [-o table|json|yaml]',
  options: { pre: { type: 'boolean' }, ...adminOptions, ...outputOptions },
  optionHelp: { pre: 'checks before starting the controller: Node.js, the config file, free listen ports', ...ADMIN_HELP, ...OUTPUT_HELP },
  examples: ['trellis check --config trellis.yaml', 'trellis check --pre --config trellis.yaml', 'trellis check --admin http://127.0.0.1:9091 -o json'],
  async run(values, _pos, io) {
    const format = outputFormat(values, io);
    const file = typeof values.config === 'string' ? values.config : undefined;
    let groups: CheckGroup[];
    if (values.pre) groups = await preChecks(file);
    else {
      const head = file ? await configGroup(file) : undefined;
      let base: string | undefined;
      try {
        base = await adminUrl(values);
      } catch (err) {
        if (!(err instanceof CliFailure) && !(err instanceof ConfigError)) throw err;
      }
      groups = [...(head ? [head.group] : []), ...(base ? await liveChecks(base) : [{ name: 'controller', checks: [fail('admin API address known', ['pass --admin URL'])] }])];
    }
    const ok = groups.every((g) => g.checks.every((c) => c.status !== 'fail'));
    render(io, format, { ok, groups }, () => checkText(groups, ok));
    return ok ? 0 : 1;
  },
};
