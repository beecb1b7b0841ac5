import { createHash } from 'node:crypto';
import { TypeUrls } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createResourceFactory } from '../resources/factory.ts';
import { aggregateVersion, internList } from './intern.ts';
import { Snapshot } from './snapshot.ts';

const f = createResourceFactory();
const cluster = (name: string, seconds = 1) => f.create(TypeUrls.cluster, name, { name, type: 'STATIC', connect_timeout: { seconds } });
const validation = (name: string) => f.create(TypeUrls.secret, name, { name, validation_context: { trusted_ca: { inline_string: 'ca' } } });

describe('internList', () => {
  it('keeps the aggregate version of earlier releases (one update per field), so versions survive an upgrade', () => {
    const rs = [cluster('a'), cluster('b', 2)];
    const h = createHash('sha256');
    for (const r of rs) h.update(r.name).update('\0').update(r.version).update('\n');
    expect(aggregateVersion(rs)).toBe(h.digest('base64url').slice(0, 16));
  });

  it('shares one list between snapshots with the same resources of a type, and only then', () => {
    const a = new Snapshot([cluster('a'), cluster('b')]);
    const b = new Snapshot([cluster('b'), cluster('a')]);
    const c = new Snapshot([cluster('a'), cluster('b', 9)]);
    expect(a.list(TypeUrls.cluster)).toBe(b.list(TypeUrls.cluster));
    expect(a.resources(TypeUrls.cluster)).toBe(b.resources(TypeUrls.cluster));
    expect(c.list(TypeUrls.cluster)).not.toBe(a.list(TypeUrls.cluster));
    expect(c.version(TypeUrls.cluster)).not.toBe(a.version(TypeUrls.cluster));
    expect(a.version(TypeUrls.cluster)).toBe(aggregateVersion(a.resources(TypeUrls.cluster)));
    expect(Object.isFrozen(a.resources(TypeUrls.cluster))).toBe(true);
  });

  it('does not treat equal bytes for different audiences as the same list', () => {
    const body = validation('s');
    const forA = { ...body, audience: { namespace: 'ns', serviceAccount: 'a' } };
    const forB = { ...body, audience: { namespace: 'ns', serviceAccount: 'b' } };
    expect(internList(TypeUrls.secret, [forA])).not.toBe(internList(TypeUrls.secret, [forB]));
    expect(internList(TypeUrls.secret, [forA]).resources[0]?.audience?.serviceAccount).toBe('a');
    expect(internList(TypeUrls.secret, [body])).toBe(internList(TypeUrls.secret, [validation('s')]));
  });

  it('gives an empty type the version of an empty set', () => {
    expect(new Snapshot([]).version(TypeUrls.route)).toBe(aggregateVersion([]));
    expect(new Snapshot([]).resources(TypeUrls.route)).toEqual([]);
  });
});
