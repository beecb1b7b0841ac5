/**
 * The tracing seam: how the core reports the work a config change causes, without knowing the tracing
 * library. Observability plugins contribute a `Tracer` to `extensionPoints.tracers`; with none contributed the
 * core records nothing (it checks once per change, and builds no span objects). Times are epoch milliseconds
 * (fractions allowed). @public
 */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | readonly string[] | readonly number[]>>;

export interface TraceSpan {
  /** Starts a child span (`startTime` default now). */
  child(name: string, attributes?: SpanAttributes, startTime?: number): TraceSpan;
  setAttributes(attributes: SpanAttributes): void;
  /** Records a point in time inside the span (an OTel span event; far cheaper than a child span). */
  event(name: string, attributes?: SpanAttributes, time?: number): void;
  /** Ends the span (`endTime` default now); `error` marks it failed with that message. */
  end(opts?: { endTime?: number; error?: string }): void;
}

export interface Tracer {
  /** Starts a new trace (a root span); `undefined` when the sampler drops it, and the caller records nothing. */
  startTrace(name: string, attributes?: SpanAttributes, startTime?: number): TraceSpan | undefined;
}

/**
 * The spans of one config change, as the core emits them (names and attribute keys are a contract: dashboards
 * and tests query them).
 */
export const ChangeSpans = {
  /** Root: one sink call of a source that changed the mesh. Attributes `trellis.source`, `trellis.changes`, `trellis.change.kinds`, `trellis.affected_snapshots`. */
  change: 'trellis.config_change',
  /** The store validating and applying the source's objects. */
  store: 'trellis.store',
  /** The catalog computing which identities one change affects (`trellis.change.key`, `trellis.affected`). */
  catalog: 'trellis.catalog.affected',
  /** The debouncer holding the change. */
  debounce: 'trellis.debounce',
  /** One snapshot rebuilt (`trellis.identity`, `trellis.proxy.kind`, `trellis.resources`). */
  generate: 'trellis.generate',
  /**
   * One proxy's pushes of one snapshot (`trellis.identity`, `trellis.proxy.kind`, `trellis.node_id`, `trellis.responses`,
   * `trellis.result`: `ack` when every type was ACKed, else the first other outcome), from its first response written to
   * its last answer. Each type's answer is in the array attributes `xds.types`, `xds.versions`, `trellis.answer_ms`;
   * a type not ACKed is also an `answer` event.
   */
  push: 'trellis.xds.push',
  /** Event in a push span: one type's response NACKed or given up (`xds.type_url`, `xds.version`, `trellis.result`, `trellis.error` on NACK). */
  answer: 'trellis.xds.answer',
} as const;

/** The attribute keys of those spans. */
export const ChangeAttributes = {
  source: 'trellis.source',
  changes: 'trellis.changes',
  kinds: 'trellis.change.kinds',
  key: 'trellis.change.key',
  affected: 'trellis.affected',
  affectedSnapshots: 'trellis.affected_snapshots',
  identity: 'trellis.identity',
  proxyKind: 'trellis.proxy.kind',
  nodeId: 'trellis.node_id',
  resources: 'trellis.resources',
  responses: 'trellis.responses',
  error: 'trellis.error',
  typeUrl: 'xds.type_url',
  version: 'xds.version',
  /** Push span: the types pushed (the type URL's last name part: `Cluster`, `Listener`, ...), in push order. */
  types: 'xds.types',
  /** Push span: the version pushed of each of `xds.types`. */
  versions: 'xds.versions',
  /** Push span: ms from the span's start to each of `xds.types`' answer (-1: never answered). */
  answerMs: 'trellis.answer_ms',
  /** `ack`, `nack`, `timeout`, `superseded` (a newer snapshot replaced it before the ACK), `closed`. */
  result: 'trellis.result',
} as const;
