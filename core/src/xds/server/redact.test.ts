import { SecretValue } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { redactResource } from './redact.ts';

describe('redactResource', () => {
  it('redacts private keys at any depth and SecretValues, keeps the rest', () => {
    const out = redactResource({
      name: 'service-cert:ns/sa',
      tls_certificate: { certificate_chain: { inline_string: 'CERT' }, private_key: { inline_string: 'KEY' } },
      extra: [{ v: new SecretValue('hidden') }],
    });
    expect(out).toEqual({
      name: 'service-cert:ns/sa',
      tls_certificate: { certificate_chain: { inline_string: 'CERT' }, private_key: '[redacted]' },
      extra: [{ v: '[redacted]' }],
    });
  });
});
