import { SecretValue, type IssuedCertificate } from '@trellis/plugin-sdk';

/**
 * A certificate whose PEM bodies are placeholders, for generator tests that only need the shapes (secret names,
 * SDS contents) and never a real TLS handshake.
 */
export const placeholderCertificate: IssuedCertificate = {
  certificatePem: 'LEAF',
  chainPem: '-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n',
  privateKey: new SecretValue('-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n'),
  issuingCaPem: 'CA',
  trustBundlePem: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  serialNumber: '01',
  notBefore: new Date(0),
  notAfter: new Date(86_400_000),
};
