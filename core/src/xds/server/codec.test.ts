import { TypeUrls } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createResourceFactory } from '../resources/factory.ts';
import { deltaResponse, discoveryResponse } from './codec.ts';
import { encodeDeltaResponse } from './delta.ts';

const f = createResourceFactory();
const a = f.create(TypeUrls.cluster, 'a', { name: 'a', type: 'EDS' });
const b = f.create(TypeUrls.cluster, 'b', { name: 'b', type: 'STATIC' });

describe('response encoding', () => {
  it('hand-assembled delta responses decode like protobufjs-encoded ones', () => {
    const fast = deltaResponse.decode(Buffer.from(encodeDeltaResponse('v1', TypeUrls.cluster, 'n1', [a, b], ['gone'])));
    const slow = deltaResponse.decode(
      deltaResponse.encode({
        system_version_info: 'v1',
        type_url: TypeUrls.cluster,
        nonce: 'n1',
        removed_resources: ['gone'],
        resources: [a, b].map((r) => ({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.body } })),
      }),
    );
    expect(fast).toEqual(slow);
    expect(fast.resources?.[1]?.resource?.value).toEqual(Buffer.from(b.body));
  });

  it('a shared SotW body with an appended nonce field decodes with that nonce', () => {
    const body = discoveryResponse.encode({ version_info: 'v', type_url: TypeUrls.cluster, resources: [{ type_url: TypeUrls.cluster, value: a.body }] });
    const withNonce = Buffer.concat([body, Buffer.from([(5 << 3) | 2, 2]), Buffer.from('n7')]);
    const d = discoveryResponse.decode(withNonce);
    expect(d.nonce).toBe('n7');
    expect(d.version_info).toBe('v');
    expect(d.resources?.[0]?.value).toEqual(Buffer.from(a.body));
  });
});
