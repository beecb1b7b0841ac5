/** Builders of Kubernetes-shaped objects for catalog and store tests: the SDK test kit's, re-exported. */
export * from '@trellis/plugin-sdk/testing/objects';
