/**
 * Each workspace package declares exactly the packages its built code imports (a tarball installed elsewhere
 * has nothing else), and everything tests, benchmarks and examples import is declared at the root or in the
 * package under test. The built file set is the one its tsconfig.build.json compiles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

interface Pkg {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[];
}
const readPkg = (dir: string): Pkg => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Pkg;

const rootPkg = readPkg(root);
const workspaceDirs = (rootPkg.workspaces ?? []).flatMap((w) =>
  w.endsWith('/*') ? readdirSync(join(root, w.slice(0, -2))).map((d) => join(root, w.slice(0, -2), d)) : [join(root, w)],
);
const workspaceNames = new Set(workspaceDirs.map((d) => readPkg(d).name));
const packages = workspaceDirs.filter((d) => !readPkg(d).private);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f === 'dist') return [];
    return statSync(p).isDirectory() ? tsFiles(p) : /\.(ts|mts|js|mjs)$/.test(f) ? [p] : [];
  });
}

/** Bare package names a file imports: static, dynamic and type imports, and package paths given to require.resolve. */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName);
  for (const m of text.matchAll(/require\.resolve\(\s*'([^']+)'/g)) specs.push(m[1] ?? '');
  return specs
    .filter((s) => s && !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtinModules.includes(s.split('/')[0] ?? ''))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? s)));
}

/** The files tsc -b compiles for a package (its runtime and published types). */
function builtFiles(dir: string): Set<string> {
  const cfg = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!cfg) throw new Error(`${dir}/tsconfig.build.json does not parse`);
  return new Set(cfg.fileNames.map((f) => resolve(f)));
}

function usage(files: readonly string[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const f of files) for (const p of importedPackages(f)) used.set(p, [...(used.get(p) ?? []), relative(root, f)]);
  return used;
}

describe('declared dependencies', () => {
  it.each(packages.map((d) => [relative(root, d), d]))('%s declares exactly what its built code imports', (_name, dir) => {
    const pkg = readPkg(dir);
    const built = builtFiles(dir);
    expect(built.size).toBeGreaterThan(0);
    const used = usage([...built].filter((f) => f.endsWith('.ts')));
    const declared = new Set(Object.keys(pkg.dependencies ?? {}));
    const peers = new Set(Object.keys(pkg.peerDependencies ?? {}));
    const missing = [...used].filter(([p]) => !declared.has(p) && !peers.has(p)).map(([p, files]) => `${p} (imported by ${files.slice(0, 3).join(', ')})`);
    const unused = [...declared].filter((p) => !used.has(p));
    expect({ missing, unused }).toEqual({ missing: [], unused: [] });
  });

  it('tests, benchmarks and examples import only declared packages', () => {
    const rootDeclared = new Set([...Object.keys(rootPkg.devDependencies ?? {}), ...Object.keys(rootPkg.dependencies ?? {}), ...workspaceNames]);
    const missing: string[] = [];
    for (const dir of packages) {
      const built = builtFiles(dir);
      const own = new Set(Object.keys(readPkg(dir).dependencies ?? {}));
      const tests = tsFiles(join(dir, 'src')).filter((f) => !built.has(f));
      for (const [p, files] of usage(tests)) if (!own.has(p) && !rootDeclared.has(p)) missing.push(`${p} (imported by ${files.slice(0, 3).join(', ')})`);
    }
    const configs = readdirSync(root).filter((f) => /\.config\.(ts|js|mjs)$/.test(f)).map((f) => join(root, f));
    const elsewhere = [...configs, ...['test', 'bench', 'examples', 'scripts', 'bin'].flatMap((d) => tsFiles(join(root, d)))];
    for (const [p, files] of usage(elsewhere)) if (!rootDeclared.has(p)) missing.push(`${p} (imported by ${files.slice(0, 3).join(', ')})`);
    expect(missing).toEqual([]);
  });
});
