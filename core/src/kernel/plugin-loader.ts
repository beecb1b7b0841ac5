import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { ErrorCodes, isPluginDefinition, TrellisError, type AnyPluginDefinition, type PluginKind } from '@trellis/plugin-sdk';
import { CORE_VERSION } from '../version.ts';
import { BUILTIN_LOADERS, BUILTIN_PLUGINS } from './builtins.ts';

const isPathLike = (use: string): boolean => use.startsWith('.') || isAbsolute(use);

/** Where a `use:` value other than a built-in points: a path, or an npm package resolved from the config's directory. */
function resolveSpecifier(use: string, baseDir: string): string | undefined {
  const req = createRequire(join(baseDir, 'noop.js'));
  const fromCore = createRequire(import.meta.url);
  if (isPathLike(use)) {
    const abs = resolve(baseDir, use);
    try {
      return req.resolve(abs);
    } catch {
      return undefined;
    }
  }
  for (const r of [req, fromCore]) {
    try {
      return r.resolve(use);
    } catch {
      // try the next resolver
    }
  }
  return undefined;
}

/**
 * Loads the plugin named by `use:` and checks its manifest: that it is a plugin, of the expected kind, and
 * that it supports this core version. Every failure is a `TrellisError` with a stable code and the path.
 */
export async function loadPlugin(use: string, expectedKind: PluginKind, opts: { baseDir: string; path: string }): Promise<AnyPluginDefinition> {
  const at = `${opts.path}.use`;
  const builtin = Object.hasOwn(BUILTIN_LOADERS, use) ? BUILTIN_LOADERS[use] : undefined;
  const file = builtin ? undefined : resolveSpecifier(use, opts.baseDir);
  const load = builtin ?? (file === undefined ? undefined : () => import(pathToFileURL(file).href) as Promise<{ default?: unknown }>);
  if (!load) {
    throw new TrellisError(
      ErrorCodes.PLUGIN_NOT_FOUND,
      `${at}: plugin "${use}" not found (not a built-in — ${Object.keys(BUILTIN_PLUGINS).join(', ')} — nor an installed package or existing path)`,
      { path: at },
    );
  }
  let mod: { default?: unknown };
  try {
    mod = await load();
  } catch (err) {
    throw new TrellisError(ErrorCodes.PLUGIN_INVALID, `${at}: plugin "${use}" failed to load: ${(err as Error).message}`, { path: at, cause: err });
  }
  const def = mod.default;
  if (!isPluginDefinition(def)) {
    throw new TrellisError(ErrorCodes.PLUGIN_INVALID, `${at}: "${use}" does not default-export a plugin made with definePlugin()`, { path: at });
  }
  if (def.kind !== expectedKind) {
    throw new TrellisError(
      ErrorCodes.PLUGIN_KIND_MISMATCH,
      `${at}: plugin "${def.name}" is a ${def.kind} plugin, but it is listed where a ${expectedKind} plugin belongs`,
      { path: at },
    );
  }
  if (!semver.validRange(def.coreRange) || !semver.satisfies(CORE_VERSION, def.coreRange, { includePrerelease: true })) {
    throw new TrellisError(
      ErrorCodes.PLUGIN_VERSION_MISMATCH,
      `${at}: plugin "${def.name}" ${def.version} requires @trellis/core ${def.coreRange}, but this is ${CORE_VERSION}`,
      { path: at },
    );
  }
  return def;
}
