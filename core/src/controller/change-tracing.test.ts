import { describe, expect, it } from 'vitest';
import { ChangeSpans, type NodeIdentity, type SourceSink, type SpanAttributes, type TraceSpan, type Tracer } from '@trellis/plugin-sdk';
import { ChangeTracing } from './change-tracing.ts';

interface Rec {
  name: string;
  attrs: Record<string, unknown>;
  parent?: Rec;
  events: { name: string; attrs: Record<string, unknown>; time?: number }[];
  ended: boolean;
  endTime?: number;
  error?: string;
}

class RecordingTracer implements Tracer {
  readonly spans: Rec[] = [];
  sample = true;
  startTrace(name: string, attributes?: SpanAttributes): TraceSpan | undefined {
    return this.sample ? this.#span(name, attributes) : undefined;
  }
  #span(name: string, attributes?: SpanAttributes, parent?: Rec): TraceSpan {
    const r: Rec = { name, attrs: { ...attributes }, events: [], ended: false, ...(parent ? { parent } : {}) };
    this.spans.push(r);
    return {
      child: (n, a) => this.#span(n, a, r),
      setAttributes: (a) => void Object.assign(r.attrs, a),
      event: (n, a, time) => void r.events.push({ name: n, attrs: { ...a }, ...(time === undefined ? {} : { time }) }),
      end: (o) => {
        r.ended = true;
        if (o?.endTime !== undefined) r.endTime = o.endTime;
        if (o?.error) r.error = o.error;
      },
    };
  }
}

const node = (uuid: string): NodeIdentity => ({ uuid, kind: 'sidecar', namespace: 'shop', serviceAccount: 'buyer', trustDomain: 'cluster.local' });
const KEY = 'sidecar|shop/buyer';
const change = { kind: 'TrafficTarget' as const, key: 'access.smi-spec.io/TrafficTarget/shop/t' };

/** A sink whose calls emit one store change each, through the tracing, as the store's listener does. */
function sinkInto(tracing: ChangeTracing, onCall: () => void): SourceSink {
  const call = () => {
    tracing.onStoreChange(change);
    tracing.affected(change, () => new Set(['shop/buyer']));
    tracing.queued(KEY);
    onCall();
  };
  return tracing.wrapSink('file', { apply: call, delete: call, replaceAll: call, reportError() {}, clearErrors() {} });
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ChangeTracing', () => {
  it("a change's debounce span ends once none of its keys is still held by the per-key debouncer", async () => {
    const tracer = new RecordingTracer();
    const tracing = new ChangeTracing(() => KEY);
    tracing.use([tracer]);
    sinkInto(tracing, () => undefined).apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    await tick();
    const debounce = tracer.spans.find((s) => s.name === ChangeSpans.debounce)!;
    tracing.flushed((key) => key === KEY); // other keys went; this change's key is still held
    expect(debounce.ended).toBe(false);
    tracing.flushed(() => false);
    expect(debounce.ended).toBe(true);
  });

  it('without a tracer passes sink calls straight through and records nothing', async () => {
    const tracing = new ChangeTracing(() => KEY);
    let calls = 0;
    const sink = sinkInto(tracing, () => calls++);
    sink.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    await tick();
    expect(calls).toBe(1);
    expect(tracing.enabled).toBe(false);
    expect(tracing.rebuildStarting(KEY)).toBeUndefined();
  });

  it('ends the change only when every stream of the rebuilt snapshot pushed and each push was answered', async () => {
    const tracer = new RecordingTracer();
    const tracing = new ChangeTracing(() => KEY);
    tracing.use([tracer]);
    const sink = sinkInto(tracing, () => undefined);
    // Two sink calls in one synchronous run are one change.
    sink.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    sink.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'y' });
    await tick();
    const root = tracer.spans.find((s) => s.name === ChangeSpans.change)!;
    expect(tracer.spans.filter((s) => s.name === ChangeSpans.change)).toHaveLength(1);
    expect(root.attrs).toMatchObject({ 'trellis.changes': 2, 'trellis.affected_snapshots': 1 });
    tracing.flushed();
    const changes = tracing.rebuildStarting(KEY)!;
    tracing.rebuildDone(KEY, changes, { identity: 'shop/buyer', kind: 'sidecar', startedAt: 1, generatedAt: 42, resources: 3, streams: 2 });
    tracing.hooks.onPush({ node: node('a'), typeUrl: 'T', version: 'v1', nonce: '1', generatedAt: 42, sentAt: 2 });
    tracing.hooks.onPush({ node: node('a'), typeUrl: 'U', version: 'v1', nonce: '2', generatedAt: 42, sentAt: 2 });
    tracing.hooks.onPushDone({ node: node('a'), generatedAt: 42, responses: 2 });
    tracing.hooks.onAck({ node: node('a'), typeUrl: 'T', version: 'v0', at: 3 }); // an older version's ACK answers nothing
    tracing.hooks.onAck({ node: node('a'), typeUrl: 'T', version: 'v1', at: 3 });
    // One span for proxy a, still open: its U response is not answered.
    expect(tracer.spans.filter((s) => s.name === ChangeSpans.push).map((p) => p.ended)).toEqual([false]);
    tracing.hooks.onAck({ node: node('a'), typeUrl: 'U', version: 'v1', at: 3.5 });
    expect(root.ended).toBe(false); // stream b has not pushed yet
    tracing.hooks.onPush({ node: node('b'), typeUrl: 'T', version: 'v1', nonce: '1', generatedAt: 42, sentAt: 2 });
    tracing.hooks.onPushDone({ node: node('b'), generatedAt: 42, responses: 1 });
    expect(root.ended).toBe(false); // b's push is not answered
    tracing.hooks.onNack({ node: node('b'), typeUrl: 'T', version: 'v1', message: 'bad', at: 4 });
    expect(root.ended).toBe(true);
    const pushes = tracer.spans.filter((s) => s.name === ChangeSpans.push);
    expect(pushes.map((p) => [p.attrs['trellis.node_id'], p.attrs['trellis.result'], p.attrs['trellis.responses'], p.error, p.endTime])).toEqual([
      ['a', 'ack', 2, undefined, 3.5],
      ['b', 'nack', 1, 'bad', 4],
    ]);
    expect(pushes[0]!.attrs).toMatchObject({ 'trellis.identity': 'shop/buyer', 'trellis.proxy.kind': 'sidecar' });
    // Each type's answer is in its proxy's push span: short type names, versions, ms after the span's start.
    expect(pushes.map((p) => [p.attrs['xds.types'], p.attrs['xds.versions'], p.attrs['trellis.answer_ms']])).toEqual([
      [['T', 'U'], ['v1', 'v1'], [1, 1.5]],
      [['T'], ['v1'], [2]],
    ]);
    // Only what was not ACKed is an event (with the NACK's message).
    expect(pushes.map((p) => p.events.map((e) => [e.name, e.attrs['xds.type_url'], e.attrs['xds.version'], e.attrs['trellis.result'], e.time]))).toEqual([[], [[ChangeSpans.answer, 'T', 'v1', 'nack', 4]]]);
    expect(pushes[1]!.events[0]!.attrs['trellis.error']).toBe('bad');
    expect(tracer.spans.every((s) => s.ended)).toBe(true);
  });

  it('hands a change still being pushed to the next snapshot of its key (superseded), and records nothing unsampled', async () => {
    const tracer = new RecordingTracer();
    const tracing = new ChangeTracing(() => KEY);
    tracing.use([tracer]);
    const sink = sinkInto(tracing, () => undefined);
    sink.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    await tick();
    const first = tracing.rebuildStarting(KEY)!;
    tracing.rebuildDone(KEY, first, { identity: 'shop/buyer', kind: 'sidecar', startedAt: 1, generatedAt: 1, resources: 1, streams: 1 });
    tracing.hooks.onPush({ node: node('a'), typeUrl: 'T', version: 'v1', nonce: '1', generatedAt: 1, sentAt: 2 });
    const second = tracing.rebuildStarting(KEY)!;
    expect(second).toEqual(first);
    tracing.rebuildDone(KEY, second, { identity: 'shop/buyer', kind: 'sidecar', startedAt: 3, generatedAt: 3, resources: 1, streams: 1 });
    const root = tracer.spans.find((s) => s.name === ChangeSpans.change)!;
    expect(root.ended).toBe(false);
    tracing.hooks.onPush({ node: node('a'), typeUrl: 'T', version: 'v2', nonce: '2', generatedAt: 3, sentAt: 4 });
    tracing.hooks.onPushDone({ node: node('a'), generatedAt: 3, responses: 1 });
    tracing.hooks.onAck({ node: node('a'), typeUrl: 'T', version: 'v2', at: 5 });
    expect(root.ended).toBe(true);
    const pushes = tracer.spans.filter((s) => s.name === ChangeSpans.push);
    expect(pushes.map((p) => p.attrs['trellis.result'])).toEqual(['superseded', 'ack']);
    // The superseded push: its type never answered (-1), and an event says why.
    expect(pushes[0]!.attrs['trellis.answer_ms']).toEqual([-1]);
    expect(pushes[0]!.events.map((e) => [e.attrs['xds.type_url'], e.attrs['xds.version'], e.attrs['trellis.result']])).toEqual([['T', 'v1', 'superseded']]);

    tracer.sample = false;
    const before = tracer.spans.length;
    sink.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'z' } });
    await tick();
    expect(tracing.rebuildStarting(KEY)).toBeUndefined();
    expect(tracer.spans.length).toBe(before);
  });
});
