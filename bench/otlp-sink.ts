/**
 * `--otel`: where the controller's otel plugin exports during the benchmark. It stands in for a collector:
 * accepts any OTLP/HTTP request, counts requests and bytes, and answers 200 with an empty (valid) protobuf
 * response, so the controller pays the full cost of tracing and exporting while nothing slows it down.
 */
import { createServer, type Server } from 'node:http';

export class OtlpSink {
  requests = 0;
  bytes = 0;
  private constructor(
    readonly url: string,
    readonly server: Server,
  ) {}

  static async start(): Promise<OtlpSink> {
    const holder: { sink?: OtlpSink } = {};
    const server = createServer((req, res) => {
      req.on('data', (c: Buffer) => {
        if (holder.sink) holder.sink.bytes += c.length;
      });
      req.on('end', () => {
        if (holder.sink) holder.sink.requests++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    holder.sink = new OtlpSink(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server);
    return holder.sink;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
