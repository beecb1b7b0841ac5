import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import spec from './proto-files.json' with { type: 'json' };

/** Envoy's v3 protos from @grpc/grpc-js-xds/deps (and opentelemetry-proto's, proto-files.json), parsed once per process on first use (~250 ms). */
let root: protobuf.Root | undefined;

function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  // opentelemetry-proto (`opentelemetry/proto/common/v1/common.proto`, imported by Envoy's OTel access log).
  const otel = path.join(path.dirname(require.resolve('@opentelemetry/otlp-grpc-exporter-base/package.json')), spec.otelProtos.dir);
  return [...spec.includeDirs.map((d) => path.join(deps, d)), otel, protobufjsDir];
}

export function xdsRoot(): protobuf.Root {
  if (root) return root;
  const dirs = includeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      try {
        accessSync(candidate);
        return candidate;
      } catch {
        // not in this include dir
      }
    }
    return protobuf.util.path.resolve(origin, target);
  };
  r.loadSync(spec.files, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** `type.googleapis.com/a.b.C` or `a.b.C` -> `a.b.C`. */
export function typeNameOf(typeUrlOrName: string): string {
  const slash = typeUrlOrName.lastIndexOf('/');
  const name = slash >= 0 ? typeUrlOrName.slice(slash + 1) : typeUrlOrName;
  return name.startsWith('.') ? name.slice(1) : name;
}

/** The message type for a type URL or full name, or undefined when it is not loaded. */
export function lookupMessage(typeUrlOrName: string): protobuf.Type | undefined {
  const found = xdsRoot().lookup(typeNameOf(typeUrlOrName));
  return found instanceof protobuf.Type ? found : undefined;
}

export function messageType(typeUrlOrName: string): protobuf.Type {
  const t = lookupMessage(typeUrlOrName);
  if (!t) throw new Error(`xDS proto type "${typeNameOf(typeUrlOrName)}" is not loaded`);
  return t;
}
