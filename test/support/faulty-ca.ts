import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin, type CertificateRequest, type IssuedCertificate } from '@trellis/plugin-sdk';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';

/**
 * A certificates plugin for fault tests: the real self-signed CA, except that issuance for chosen names (a
 * workload's DNS SAN, `<sa>.<ns>.<trustDomain>`) stalls until released or fails, like a Vault call that hangs.
 */
export class FaultyCa {
  readonly #stalled = new Map<string, (() => void)[]>();
  readonly #failing = new Set<string>();
  /** Issuance requests seen, by first DNS name. */
  readonly requests: string[] = [];

  stall(dnsName: string): void {
    if (!this.#stalled.has(dnsName)) this.#stalled.set(dnsName, []);
  }

  release(dnsName: string): void {
    for (const go of this.#stalled.get(dnsName) ?? []) go();
    this.#stalled.delete(dnsName);
  }

  fail(dnsName: string, on = true): void {
    if (on) this.#failing.add(dnsName);
    else this.#failing.delete(dnsName);
  }

  readonly plugin = definePlugin({
    name: 'faulty-ca',
    kind: 'certificates',
    version: '0.0.1',
    coreRange: '*',
    create: (ctx) => {
      const inner = createSelfSignedProvider({
        stateDir: mkdtempSync(join(tmpdir(), 'trellis-faulty-ca-')),
        createRoot: true,
        caValidityMs: 24 * 3_600_000,
        keyType: 'ecdsa-p256',
        commonName: 'Faulty Test CA',
        logger: ctx.logger,
      });
      return {
        start: () => inner.start?.(),
        stop: () => inner.stop?.(),
        trustBundle: () => inner.trustBundle(),
        issue: async (req: CertificateRequest): Promise<IssuedCertificate> => {
          const name = req.dnsNames[0] ?? req.commonName;
          this.requests.push(name);
          const waiting = this.#stalled.get(name);
          if (waiting) await new Promise<void>((go) => waiting.push(go));
          if (this.#failing.has(name)) throw new Error(`CA unavailable for ${name} (injected fault)`);
          return inner.issue(req);
        },
      };
    },
  });
}
