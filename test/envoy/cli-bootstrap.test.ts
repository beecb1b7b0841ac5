import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@trellis/core';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { parseNodeId } from '@trellis/plugin-sdk';
import { validateBootstrap } from '@trellis/core';

/** `trellis bootstrap envoy` end to end: the CLI, the configured CA and this backend's files. */

const work = mkdtempSync(join(tmpdir(), 'trellis-envoy-boot-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const config = join(work, 'trellis.yaml');
writeFileSync(config, `plugins:\n  proxies: [ { use: envoy } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\nxds: { address: 0.0.0.0:15128 }\n`);

// The CA the controller creates on its first start (CLI commands only use it).
beforeAll(async () => {
  await createSelfSignedProvider({ stateDir: join(work, 'ca'), caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: true }).start?.();
});

const run = async (args: string[]) => {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
};

describe('trellis bootstrap envoy', () => {
  it('writes a strictly valid bootstrap, the xDS client certificate for the node id, its key (0600) and the CA', async () => {
    const dir = join(work, 'bookstore');
    const r = await run(['bootstrap', 'envoy', '--identity', 'bookstore/bookstore-v1', '--config', config, '--out', dir, '--controller', 'trellis.trellis-system.svc:15128']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const boot = parse(readFileSync(join(dir, 'bootstrap.yaml'), 'utf8')) as Record<string, unknown> & { node: { id: string } };
    expect(validateBootstrap(boot)).toEqual([]);
    expect(parseNodeId(boot.node.id)).toMatchObject({ kind: 'sidecar', namespace: 'bookstore', serviceAccount: 'bookstore-v1', trustDomain: 'cluster.local' });
    expect(JSON.stringify(boot)).toContain(join(dir, 'tls.key'));
    expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt'), 'utf8'));
    // The node id is carried in a SAN (it is longer than a CN may be).
    expect(cert.subjectAltName).toContain(boot.node.id);
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt'), 'utf8'));
    expect(cert.verify(ca.publicKey)).toBe(true);
  });
});
