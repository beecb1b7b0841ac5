import http2 from 'node:http2';
import { adsServiceDefinition } from '@trellis/core';
import type { DiscoveryRequest } from '@trellis/core';

/**
 * An ADS peer that sends its requests and then never reads (a hung or hostile proxy): a raw HTTP/2 client
 * speaking gRPC framing whose response stream stays paused, so HTTP/2 flow control backs up to the server.
 */
export class StuckAdsPeer {
  readonly #session: http2.ClientHttp2Session;
  readonly #stream: http2.ClientHttp2Stream;

  constructor(address: string, requests: DiscoveryRequest[]) {
    this.#session = http2.connect(`http://${address}`);
    this.#session.on('error', () => {});
    this.#stream = this.#session.request({
      ':method': 'POST',
      ':path': adsServiceDefinition.StreamAggregatedResources.path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.#stream.on('error', () => {});
    this.#stream.pause();
    for (const req of requests) {
      const msg = adsServiceDefinition.StreamAggregatedResources.requestSerialize(req);
      const frame = Buffer.allocUnsafe(5 + msg.length);
      frame[0] = 0;
      frame.writeUInt32BE(msg.length, 1);
      msg.copy(frame, 5);
      this.#stream.write(frame);
    }
  }

  close(): void {
    this.#stream.close();
    this.#session.destroy();
  }
}
