// Generates TypeScript types for the Envoy xDS protos Trellis uses into plugin-sdk/src/xds/generated/ (gitignored):
// the SDK's typed resource inputs are built on them, and the core imports its discovery types from there.
// Runs from the root `prepare` script on `npm ci`; the proto list is shared with the runtime loader.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const spec = JSON.parse(readFileSync(path.join(root, 'core/src/xds/resources/proto-files.json'), 'utf8'));
const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
// Resolved from core, which declares it (the root's copy of that package is a newer one without .proto files).
const otelDir = path.join(path.dirname(createRequire(path.join(root, 'core/package.json')).resolve(`${spec.otelProtos.package}/package.json`)), spec.otelProtos.dir);
const bin = path.join(path.dirname(require.resolve('@grpc/proto-loader/package.json')), 'build/bin/proto-loader-gen-types.js');
const outDir = path.join(root, 'plugin-sdk/src/xds/generated');

const started = Date.now();
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
// One umbrella file importing every proto: the generator then parses the tree once instead of once per file.
const umbrellaDir = mkdtempSync(path.join(tmpdir(), 'trellis-xds-'));
writeFileSync(path.join(umbrellaDir, 'trellis_xds.proto'), `syntax = "proto3";\n${spec.files.map((f) => `import "${f}";`).join('\n')}\n`);
const includes = [umbrellaDir, ...spec.includeDirs.map((d) => path.join(deps, d)), otelDir, protobufjsDir].map((d) => `--includeDirs=${d}`);
execFileSync(
  process.execPath,
  [bin, '--keepCase', '--longs=String', '--enums=String', '--bytes=Buffer', '--grpcLib=@grpc/grpc-js', '--importFileExtension=.ts', `--outDir=${outDir}`, ...includes, '--', 'trellis_xds.proto'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
rmSync(umbrellaDir, { recursive: true, force: true });
console.log(`gen-xds-types: ${spec.files.length} protos -> ${path.relative(root, outDir)} in ${Date.now() - started} ms`);
