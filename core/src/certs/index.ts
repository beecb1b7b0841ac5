export { CertificateManager } from './manager.ts';
export type { CertificateDebugEntry, CertificateManagerOptions } from './manager.ts';
export { certificateRotated } from './topics.ts';
export type { CertificateKind, CertificateRotated } from './topics.ts';
