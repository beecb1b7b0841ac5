/**
 * A stand-in for an OpenTelemetry Collector's OTLP receiver, for tests: it accepts OTLP/HTTP (protobuf, at
 * `/v1/traces` and `/v1/metrics`) and OTLP/gRPC (`TraceService/Export`, `MetricsService/Export`) and decodes
 * the requests with protobufjs from the OTLP protocol's own message definitions (opentelemetry-proto v1: the
 * field numbers below are the protocol's), independently of the OTel SDK's encoder. It keeps what it decoded.
 */
import { createServer, type Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const OTLP_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message Status { string message = 2; int32 code = 3; }
message SpanEvent { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
  repeated SpanEvent events = 11; uint32 dropped_events_count = 12; uint32 dropped_links_count = 14; Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTraceServiceResponse { }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; oneof value { double as_double = 4; sfixed64 as_int = 6; } uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; uint32 flags = 10; optional double min = 11; optional double max = 12; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Metric { string name = 1; string description = 2; string unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; } }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ExportMetricsServiceResponse { }
`;

const root = protobuf.parse(OTLP_PROTO, { keepCase: true }).root;
const T = (n: string) => root.lookupType(`opentelemetry.proto.${n}`);
const TraceReq = T('ExportTraceServiceRequest');
const TraceRes = T('ExportTraceServiceResponse');
const MetricsReq = T('ExportMetricsServiceRequest');
const MetricsRes = T('ExportMetricsServiceResponse');

type Scalar = string | number | boolean;
type Attr = Scalar | Scalar[];

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** Epoch ms. */
  readonly start: number;
  readonly end: number;
  readonly attributes: Readonly<Record<string, Attr>>;
  readonly status: { readonly code: number; readonly message: string };
  /** Span events; `time` in epoch ms. */
  readonly events: readonly { readonly name: string; readonly time: number; readonly attributes: Readonly<Record<string, Attr>> }[];
  readonly resource: Readonly<Record<string, Attr>>;
}

export interface ReceivedMetric {
  readonly name: string;
  readonly kind: 'gauge' | 'sum' | 'histogram';
  readonly points: readonly { attributes: Record<string, Attr>; value?: number; count?: number; sum?: number; bucketCounts?: number[]; bounds?: number[] }[];
  readonly resource: Readonly<Record<string, Attr>>;
}

interface AnyValue { string_value?: string; bool_value?: boolean; int_value?: number | string; double_value?: number; array_value?: { values?: AnyValue[] } }
interface Kv { key: string; value?: AnyValue }
const scalar = (v: AnyValue | undefined): Scalar => v?.string_value ?? v?.bool_value ?? (v?.int_value !== undefined ? Number(v.int_value) : (v?.double_value ?? ''));
const attrs = (kvs: Kv[] | undefined): Record<string, Attr> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, kv.value?.array_value ? (kv.value.array_value.values ?? []).map(scalar) : scalar(kv.value)]));
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const ms = (n: number | string | { toString(): string } | undefined) => Number(BigInt(String(n ?? 0)) / 1000n) / 1000;
const toObject = (t: protobuf.Type, bytes: Uint8Array) => t.toObject(t.decode(bytes), { longs: String, bytes: Uint8Array, defaults: false, oneofs: false }) as Record<string, unknown>;

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly metrics: ReceivedMetric[] = [];
  /** Requests by transport and signal, e.g. `http traces`. */
  readonly requests: string[] = [];
  #http: Server | undefined;
  #grpc: grpc.Server | undefined;
  httpUrl = '';
  grpcUrl = '';

  static async start(): Promise<OtlpReceiver> {
    const r = new OtlpReceiver();
    await r.#startHttp();
    await r.#startGrpc();
    return r;
  }

  #traces(bytes: Uint8Array, via: string): void {
    this.requests.push(`${via} traces`);
    const req = toObject(TraceReq, bytes) as { resource_spans?: { resource?: { attributes?: Kv[] }; scope_spans?: { spans?: Record<string, never>[] }[] }[] };
    for (const rs of req.resource_spans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scope_spans ?? [])
        for (const s of (ss.spans ?? []) as { trace_id?: Uint8Array; span_id?: Uint8Array; parent_span_id?: Uint8Array; name?: string; start_time_unix_nano?: string; end_time_unix_nano?: string; attributes?: Kv[]; status?: { code?: number; message?: string }; events?: { name?: string; time_unix_nano?: string; attributes?: Kv[] }[] }[])
          this.spans.push({
            traceId: hex(s.trace_id),
            spanId: hex(s.span_id),
            parentSpanId: hex(s.parent_span_id),
            name: s.name ?? '',
            start: ms(s.start_time_unix_nano),
            end: ms(s.end_time_unix_nano),
            attributes: attrs(s.attributes),
            status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
            events: (s.events ?? []).map((e) => ({ name: e.name ?? '', time: ms(e.time_unix_nano), attributes: attrs(e.attributes) })),
            resource,
          });
    }
  }

  #metrics(bytes: Uint8Array, via: string): void {
    this.requests.push(`${via} metrics`);
    type Point = { attributes?: Kv[]; as_double?: number; as_int?: string; count?: string; sum?: number; bucket_counts?: string[]; explicit_bounds?: number[] };
    type M = { name?: string; gauge?: { data_points?: Point[] }; sum?: { data_points?: Point[] }; histogram?: { data_points?: Point[] } };
    const req = toObject(MetricsReq, bytes) as { resource_metrics?: { resource?: { attributes?: Kv[] }; scope_metrics?: { metrics?: M[] }[] }[] };
    for (const rm of req.resource_metrics ?? []) {
      const resource = attrs(rm.resource?.attributes);
      for (const sm of rm.scope_metrics ?? [])
        for (const m of sm.metrics ?? []) {
          const kind = m.histogram ? 'histogram' : m.sum ? 'sum' : 'gauge';
          const points = (m.histogram ?? m.sum ?? m.gauge)?.data_points ?? [];
          this.metrics.push({
            name: m.name ?? '',
            kind,
            resource,
            points: points.map((p) => ({
              attributes: attrs(p.attributes),
              ...(p.as_double !== undefined ? { value: p.as_double } : p.as_int !== undefined ? { value: Number(p.as_int) } : {}),
              ...(p.count !== undefined ? { count: Number(p.count) } : {}),
              ...(p.sum !== undefined ? { sum: p.sum } : {}),
              ...(p.bucket_counts ? { bucketCounts: p.bucket_counts.map(Number) } : {}),
              ...(p.explicit_bounds ? { bounds: p.explicit_bounds } : {}),
            })),
          });
        }
    }
  }

  async #startHttp(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const type = req.headers['content-type'] ?? '';
        const body = Buffer.concat(chunks);
        try {
          if (req.method !== 'POST' || type !== 'application/x-protobuf') throw Object.assign(new Error(`want POST application/x-protobuf, got ${req.method} ${type}`), { status: 415 });
          if (req.url === '/v1/traces') {
            this.#traces(body, 'http');
            res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(TraceRes.encode({}).finish()));
          } else if (req.url === '/v1/metrics') {
            this.#metrics(body, 'http');
            res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(MetricsRes.encode({}).finish()));
          } else res.writeHead(404).end();
        } catch (err) {
          res.writeHead((err as { status?: number }).status ?? 400).end((err as Error).message);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    this.httpUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    this.#http = server;
  }

  async #startGrpc(): Promise<void> {
    const server = new grpc.Server();
    const method = (path: string, res: protobuf.Type) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.from(res.encode({}).finish()),
      responseDeserialize: (b: Buffer) => b,
    });
    server.addService(
      { Export: method('/opentelemetry.proto.collector.trace.v1.TraceService/Export', TraceRes) },
      { Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => (this.#traces(call.request, 'grpc'), cb(null, Buffer.alloc(0))) },
    );
    server.addService(
      { Export: method('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', MetricsRes) },
      { Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => (this.#metrics(call.request, 'grpc'), cb(null, Buffer.alloc(0))) },
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    this.grpcUrl = `http://127.0.0.1:${port}`;
    this.#grpc = server;
  }

  async stop(): Promise<void> {
    this.#http?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#grpc?.forceShutdown();
  }
}
