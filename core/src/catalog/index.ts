export { Catalog } from './catalog.ts';
export type { Affected } from './affected.ts';
export { hostnames, fqdn } from './hostnames.ts';
export { protocolOf, isHttpLike } from './protocol.ts';
export { WILDCARD_MATCH, fullMatch, requestMatches } from './routes.ts';
export { explainPolicy, ExplainInputError } from './explain.ts';
export type { ExplainRequest, ExplainResult, ExplainBackend, ExplainIdentity, ExplainRoute, ExplainGammaRoute } from './explain.ts';
export type { ExplainEgress } from './explain-egress.ts';
export type { ExplainIngress } from './explain-ingress.ts';
