// Generates TypeScript types for the Envoy xDS protos (filled in by the xDS work).
