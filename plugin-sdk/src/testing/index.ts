/**
 * @trellis/plugin-sdk/testing — the plugin test kit: the lifecycle conformance run, in-memory fakes of the
 * core services, and `startTestMesh` (a whole mesh in one call; needs @trellis/core installed).
 */
export { runPluginConformance } from './conformance.ts';
export type { ConformanceOptions, ConformanceReport } from './conformance.ts';
export { recordRegistrations } from './registrations.ts';
export type { RecordedRegistrations } from './registrations.ts';
export { MemoryBus, MemoryLogger, MemoryMetrics, RecordingSink } from './fakes.ts';
export type { LogLine } from './fakes.ts';
export { startTestMesh } from './mesh.ts';
export type { TestMesh, TestMeshOptions } from './mesh.ts';
export * as objects from './objects.ts';
