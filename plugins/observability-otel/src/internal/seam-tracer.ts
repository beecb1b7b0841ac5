import { ROOT_CONTEXT, SpanStatusCode, trace, type Span, type Tracer as OtelTracer } from '@opentelemetry/api';
import type { SpanAttributes, TraceSpan, Tracer } from '@trellis/plugin-sdk';

/** Epoch milliseconds (with fractions) as OTel's HrTime, keeping sub-millisecond precision. */
function hr(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/** The core's tracing seam on an OTel tracer: spans are parented explicitly, never through a global context. */
export class SeamTracer implements Tracer {
  constructor(readonly otel: OtelTracer) {}

  startTrace(name: string, attributes?: SpanAttributes, startTime?: number): TraceSpan | undefined {
    const span = this.otel.startSpan(name, { root: true, ...(attributes ? { attributes } : {}), ...(startTime === undefined ? {} : { startTime: hr(startTime) }) });
    if (!span.isRecording()) {
      span.end();
      return undefined;
    }
    return this.#wrap(span);
  }

  #wrap(span: Span): TraceSpan {
    return {
      child: (name, attributes, startTime) => {
        const ctx = trace.setSpan(ROOT_CONTEXT, span);
        return this.#wrap(this.otel.startSpan(name, { ...(attributes ? { attributes } : {}), ...(startTime === undefined ? {} : { startTime: hr(startTime) }) }, ctx));
      },
      setAttributes: (a) => void span.setAttributes(a),
      end: (o) => {
        if (o?.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: o.error });
        span.end(o?.endTime === undefined ? undefined : hr(o.endTime));
      },
    };
  }
}
