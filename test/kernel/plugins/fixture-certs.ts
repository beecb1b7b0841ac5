import { definePlugin, ErrorCodes, TrellisError } from '@trellis/plugin-sdk';
import { events } from './events.ts';

// Kernel tests exercise ordering and config, not issuance: this provider declines every request.
export default definePlugin({
  name: 'fixture-certs',
  kind: 'certificates',
  version: '0.0.1',
  coreRange: '*',
  create: () => ({
    start: () => void events.push('start:fixture-certs'),
    stop: () => void events.push('stop:fixture-certs'),
    issue: () => Promise.reject(new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, 'fixture-certs issues nothing')),
    trustBundle: () => Promise.resolve({ roots: [], issuerId: 'none' }),
  }),
});
