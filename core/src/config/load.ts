import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import {
  ErrorCodes,
  formatPath,
  isTrellisError,
  TrellisError,
  type AnyPluginDefinition,
  type ErrorCode,
  type PluginKind,
  type SchemaIssue,
} from '@trellis/plugin-sdk';
import { loadPlugin } from '../kernel/plugin-loader.ts';
import { collide, isLoopback, parseHostPort } from './addresses.ts';
import { interpolateEnv } from './interpolate.ts';
import { configSchema, type PluginEntry, type RawConfig } from './schema.ts';

export interface ConfigProblem {
  readonly code: ErrorCode;
  readonly path: string;
  readonly message: string;
}

/** Stable codes of config warnings (printed by `trellis validate` and logged at start; they fail nothing). */
export const ConfigWarningCodes = {
  /** `xds.plaintextAddress` listens beyond loopback: anyone who reaches it reads the mesh's config unauthenticated. */
  PLAINTEXT_NOT_LOOPBACK: 'TRELLIS_WARN_PLAINTEXT_NOT_LOOPBACK',
  /** A plugin's `validateConfig` reported a warning. */
  PLUGIN_CONFIG: 'TRELLIS_WARN_PLUGIN_CONFIG',
} as const;

export interface ConfigWarning {
  readonly code: (typeof ConfigWarningCodes)[keyof typeof ConfigWarningCodes];
  readonly path: string;
  readonly message: string;
}

/** A plugin chosen by the config file, loaded and with its `config` block decoded. */
export interface ConfiguredPlugin {
  readonly kind: PluginKind;
  /** Instance name: `name:` from the entry, else the plugin's own name. */
  readonly instanceName: string;
  /** `plugins.sources[0]`, for messages. */
  readonly path: string;
  readonly use: string;
  readonly definition: AnyPluginDefinition;
  readonly config: unknown;
}

export interface LoadedConfig {
  readonly file: string;
  readonly baseDir: string;
  readonly settings: RawConfig;
  readonly plugins: readonly ConfiguredPlugin[];
  /** Paths (segments joined by NUL) whose values came from environment variables. */
  readonly secretPaths: readonly string[];
  /** The decoded document before plugin schemas (for `config print`). */
  readonly document: unknown;
  /** Printed by `trellis validate`, logged at start; absent on configs built in code. */
  readonly warnings?: readonly ConfigWarning[];
}

export class ConfigError extends TrellisError {
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly ConfigWarning[];
  constructor(file: string, problems: readonly ConfigProblem[], warnings: readonly ConfigWarning[] = []) {
    const lines = problems.map((p) => `${p.code} ${p.path ? `${p.path}: ` : ''}${p.message}`);
    super(problems[0]?.code ?? ErrorCodes.CONFIG_INVALID, `${file}: ${problems.length} problem(s)\n  ${lines.join('\n  ')}`, {
      details: lines,
      ...(problems[0]?.path ? { path: problems[0].path } : {}),
    });
    this.name = 'ConfigError';
    this.problems = problems;
    this.warnings = warnings;
  }
}

const SECTIONS: readonly { key: 'sources' | 'proxies' | 'observability'; kind: PluginKind }[] = [
  { key: 'sources', kind: 'source' },
  { key: 'proxies', kind: 'proxy' },
  { key: 'observability', kind: 'observability' },
];

const toProblems = (issues: readonly SchemaIssue[], code: ErrorCode, prefix: (string | number)[] = []): ConfigProblem[] =>
  issues.map((i) => ({ code, path: formatPath([...prefix, ...i.path]), message: i.message }));

/** Reads and fully validates a config file: YAML, env interpolation, strict schema, plugins, cross-checks. */
export async function loadConfig(file: string, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(abs, [{ code: ErrorCodes.CONFIG_NOT_FOUND, path: '', message: `cannot read config file: ${(err as Error).message}` }]);
  }
  return parseConfig(text, abs, opts);
}

export async function parseConfig(text: string, file: string, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  const baseDir = dirname(file);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ code: ErrorCodes.CONFIG_INVALID, path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}${e.linePos ? ` (line ${e.linePos[0].line})` : ''}` })),
    );
  }
  const interp = interpolateEnv(doc.toJS() ?? {}, opts.env ?? process.env);
  const problems: ConfigProblem[] = toProblems(interp.issues, ErrorCodes.CONFIG_INVALID);
  // A missing variable would also fail the schema with a less useful message: report it alone.
  if (problems.length) throw new ConfigError(file, problems);
  const decoded = configSchema.parse(interp.value, [], { baseDir });
  if (!decoded.ok) problems.push(...toProblems(decoded.issues, ErrorCodes.CONFIG_INVALID));
  if (!decoded.ok || problems.length) throw new ConfigError(file, problems);
  const settings = decoded.value;
  const warnings: ConfigWarning[] = [];
  checkListeners(settings, problems, warnings);

  const entries: { kind: PluginKind; path: string; entry: PluginEntry }[] = [];
  for (const { key, kind } of SECTIONS) {
    settings.plugins[key].forEach((entry, i) => entries.push({ kind, path: `plugins.${key}[${i}]`, entry }));
  }
  const certs = settings.plugins.certificates;
  const certList = certs === undefined ? [] : Array.isArray(certs) ? certs : [certs];
  // How many providers there are is the component graph's concern (one slot: `trellis validate` reports it).
  certList.forEach((raw, i) => {
    const path = Array.isArray(certs) ? `plugins.certificates[${i}]` : 'plugins.certificates';
    const prefix = Array.isArray(certs) ? ['plugins', 'certificates', i] : ['plugins', 'certificates'];
    const r = configSchema.shape.plugins.shape.observability.parse([raw], [], { baseDir });
    if (!r.ok) problems.push(...toProblems(r.issues.map((x) => ({ ...x, path: x.path.slice(1) })), ErrorCodes.CONFIG_INVALID, prefix));
    else if (r.value[0]) entries.push({ kind: 'certificates', path, entry: r.value[0] });
  });

  const plugins: ConfiguredPlugin[] = [];
  for (const { kind, path, entry } of entries) {
    let definition: AnyPluginDefinition;
    try {
      definition = await loadPlugin(entry.use, kind, { baseDir, path });
    } catch (err) {
      if (!isTrellisError(err)) throw err;
      problems.push({ code: err.code, path: err.path ?? path, message: err.message.replace(/^[^:]*\.use: /, '') });
      continue;
    }
    let config: unknown = entry.config;
    if (definition.configSchema) {
      const r = definition.configSchema.parse(entry.config, [], { baseDir });
      if (!r.ok) {
        problems.push(...toProblems(r.issues, ErrorCodes.PLUGIN_CONFIG_INVALID, [...pathSegments(path), 'config']));
        continue;
      }
      config = r.value;
    }
    if (definition.validateConfig) {
      const at = [...pathSegments(path), 'config'];
      let issues: Awaited<ReturnType<NonNullable<AnyPluginDefinition['validateConfig']>>>;
      try {
        issues = await definition.validateConfig(config, { baseDir });
      } catch (err) {
        issues = [{ path: [], message: `config check failed: ${(err as Error).message}` }];
      }
      for (const i of issues) {
        const issue = { path: formatPath([...at, ...i.path]), message: i.message };
        if (i.severity === 'warning') warnings.push({ code: ConfigWarningCodes.PLUGIN_CONFIG, ...issue });
        else problems.push({ code: ErrorCodes.PLUGIN_CONFIG_INVALID, ...issue });
      }
    }
    plugins.push({ kind, instanceName: entry.name ?? definition.name, path, use: entry.use, definition, config });
  }

  const seen = new Map<string, string>();
  for (const p of plugins) {
    const prior = seen.get(p.instanceName);
    if (prior)
      problems.push({ code: ErrorCodes.CONFIG_INVALID, path: p.path, message: `plugin instance name "${p.instanceName}" is already used at ${prior}; give one a distinct name:` });
    else seen.set(p.instanceName, p.path);
  }
  if (problems.length) throw new ConfigError(file, problems, warnings);
  return { file, baseDir, settings, plugins, secretPaths: interp.secretPaths, document: interp.value, warnings };
}

/** The listeners must not share a port (the controller would die on EADDRINUSE); plaintext ADS belongs on loopback. */
function checkListeners(settings: RawConfig, problems: ConfigProblem[], warnings: ConfigWarning[]): void {
  const listeners = [
    { path: 'xds.address', text: settings.xds.address },
    { path: 'xds.plaintextAddress', text: settings.xds.plaintextAddress },
    { path: 'xds.denyResponder.address', text: settings.xds.denyResponder.enabled ? settings.xds.denyResponder.address : undefined },
    { path: 'admin.address', text: settings.admin.address },
    { path: 'identity.address', text: settings.identity.address },
    { path: 'injector.address', text: settings.injector.address },
  ].flatMap((l) => {
    const hp = l.text === undefined ? undefined : parseHostPort(l.text);
    return hp ? [{ ...l, hp }] : [];
  });
  listeners.forEach((l, i) => {
    const prior = listeners.slice(0, i).find((p) => collide(p.hp, l.hp));
    if (prior) problems.push({ code: ErrorCodes.CONFIG_INVALID, path: l.path, message: `port ${l.hp.port} is already used by ${prior.path} (${prior.text})` });
  });
  const plain = listeners.find((l) => l.path === 'xds.plaintextAddress');
  if (plain && !isLoopback(plain.hp.host))
    warnings.push({
      code: ConfigWarningCodes.PLAINTEXT_NOT_LOOPBACK,
      path: plain.path,
      message: `plaintext ADS on ${plain.text} is reachable beyond this host: anyone who can connect reads the mesh's configuration without a certificate; bind it to 127.0.0.1 (or use xds.address, which is mTLS)`,
    });
}

function pathSegments(path: string): (string | number)[] {
  return path.split(/\.|\[|\]/).filter(Boolean).map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}
