export { PodInjector } from './admission.ts';
export type { AdmissionOutcome, BootstrapSecretWriter } from './admission.ts';
export { injectorRefs, startInjector } from './component.ts';
export type { CaBundleSink, RunningInjector } from './component.ts';
export { Annotations, PROXY_UUID_LABEL, captureOf, decide, injectPod, InjectionError } from './pod-mutation.ts';
export type { BootstrapSecret, Decision, Injection, InjectorSettings } from './pod-mutation.ts';
export { iptablesRules, initScript, captureProblems, PROXY_UID, OUTBOUND_PORT, INBOUND_PORT } from './iptables.ts';
export type { CaptureOptions } from './iptables.ts';
export { InjectorServer, MUTATE_PATH } from './server.ts';
