import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer as OtelTracer } from '@opentelemetry/api';
import type { SpanAttributes, TraceSpan, Tracer } from '@trellis/plugin-sdk';

/** Epoch milliseconds (with fractions) as OTel's HrTime, keeping sub-millisecond precision. */
function hr(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/**
 * The seam's attributes as OTel's: the same values, but OTel types arrays as mutable (it only reads them; the core
 * hands over arrays it no longer changes).
 */
const otelAttrs = (a: SpanAttributes): Attributes => a as Attributes;

/** The core's tracing seam on an OTel tracer: spans are parented explicitly, never through a global context. */
export class SeamTracer implements Tracer {
  constructor(readonly otel: OtelTracer) {}

  startTrace(name: string, attributes?: SpanAttributes, startTime?: number): TraceSpan | undefined {
    const span = this.otel.startSpan(name, { root: true, ...(attributes ? { attributes: otelAttrs(attributes) } : {}), ...(startTime === undefined ? {} : { startTime: hr(startTime) }) });
    if (!span.isRecording()) {
      span.end();
      return undefined;
    }
    return new SeamSpan(this.otel, span);
  }
}

/** One OTel span behind the seam; a class (not closures per span) since a mesh-wide change makes hundreds. */
class SeamSpan implements TraceSpan {
  /** The context children are started in, made once for all of them (a root has hundreds of push spans). */
  #ctx: Context | undefined;
  constructor(
    readonly otel: OtelTracer,
    readonly span: Span,
  ) {}

  child(name: string, attributes?: SpanAttributes, startTime?: number): TraceSpan {
    this.#ctx ??= trace.setSpan(ROOT_CONTEXT, this.span);
    return new SeamSpan(this.otel, this.otel.startSpan(name, { ...(attributes ? { attributes: otelAttrs(attributes) } : {}), ...(startTime === undefined ? {} : { startTime: hr(startTime) }) }, this.#ctx));
  }

  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(otelAttrs(attributes));
  }

  event(name: string, attributes?: SpanAttributes, time?: number): void {
    this.span.addEvent(name, attributes && otelAttrs(attributes), time === undefined ? undefined : hr(time));
  }

  end(o?: { endTime?: number; error?: string }): void {
    if (o?.error !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: o.error });
    this.span.end(o?.endTime === undefined ? undefined : hr(o.endTime));
  }
}
