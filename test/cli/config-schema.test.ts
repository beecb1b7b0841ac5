import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { builtinPlugins, configJsonSchema, renderConfigReference, updateConfigDoc } from '@trellis/core';
import { runTrellis } from '../support/cli.ts';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'trellis-schema-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[]) => runTrellis(args);

// A validator other than the SDK's (no Trellis annotations known) must be able to use the printed schema.
const validator = (schema: object) => new Ajv({ strict: false, allErrors: true }).compile(schema);

describe('trellis config schema', () => {
  it('prints the JSON Schema of every built-in plugin under its use: and validates real config files with it', async () => {
    const r = await run(['config', 'schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.out) as { $schema: string; properties: { plugins: { properties: Record<string, { items?: { allOf?: { if: { properties: { use: { const: string } } } }[] } }> } } };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const uses = (section: string) => schema.properties.plugins.properties[section]?.items?.allOf?.map((a) => a.if.properties.use.const);
    expect(uses('sources')).toEqual(['file', 'kubernetes']);
    expect(uses('proxies')).toEqual(['envoy', 'grpc']);
    const validate = validator(schema);
    const local = parseYaml(readFileSync(join(root, 'config/local.yaml'), 'utf8')) as Record<string, unknown>;
    expect(validate(local), JSON.stringify(validate.errors)).toBe(true);
    const kube = parseYaml(readFileSync(join(root, 'config/kubernetes.yaml'), 'utf8')) as Record<string, unknown>;
    expect(validate(kube), JSON.stringify(validate.errors)).toBe(true);
    // The schema knows each plugin's config block, durations need units, and unknown keys are refused.
    const certs = { use: 'selfsigned', config: { stateDir: './ca' } };
    expect(validate({ plugins: { certificates: certs, sources: [{ use: 'file', config: { dirr: 'x' } }] } })).toBe(false);
    expect(validate({ plugins: { certificates: certs }, shutdown: { grace: 10 } })).toBe(false);
    expect(validate({ plugins: { certificates: certs }, shutdown: { grace: '10s' } })).toBe(true);
    expect(validate({ plugins: { certificates: { use: 'vault', config: { address: 'https://v:8200', role: 'r', auth: { token: 't' }, timeout: 5 } } } })).toBe(false);
    expect(validate({ plugins: {} })).toBe(false); // a certificates provider is required
  });

  it('with --config, holds only the plugins that file chooses', async () => {
    const file = join(work, 'trellis.yaml');
    writeFileSync(file, 'plugins:\n  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\n');
    const r = await run(['config', 'schema', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('"const": "grpc"');
    expect(r.out).toContain('"const": "selfsigned"');
    for (const absent of ['"const": "envoy"', '"const": "vault"', '"const": "file"']) expect(r.out).not.toContain(absent);
    expect((await run(['config', 'schema', '--help'])).out).toContain('Usage: trellis config schema [--config FILE]');
  });

  it('docs/config.md is generated from the current schemas (run `npm run docs:config` when this fails)', async () => {
    const current = readFileSync(join(root, 'docs/config.md'), 'utf8');
    const plugins = await builtinPlugins();
    expect(current).toBe(updateConfigDoc(current, renderConfigReference(configJsonSchema(plugins), plugins)));
  });
});
