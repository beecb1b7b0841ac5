import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'trellis-demo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The demo's own config with the controller's ports moved, so a running `npm start` does not collide. */
function demoConfig(): string {
  const text = readFileSync(join(root, 'config/local.yaml'), 'utf8')
    .replaceAll('../examples/', `${join(root, 'examples')}/`)
    .replace(/stateDir: [^ }]+/, `stateDir: ${join(work, 'ca')}`)
    .replace(/address: 0\.0\.0\.0:15128/, 'address: 127.0.0.1:0')
    .replace(/plaintextAddress: 127\.0\.0\.1:15129/, 'plaintextAddress: 127.0.0.1:25129')
    .replace(/address: 127\.0\.0\.1:9091/, 'address: 127.0.0.1:0');
  const file = join(work, 'demo.yaml');
  writeFileSync(file, text);
  return file;
}

describe('npm run demo (real gRPC workloads driven by the controller)', () => {
  it('lets bookbuyer buy from both bookstore versions, keeps bookthief out, and stops cleanly', async () => {
    const child = spawn(process.execPath, [join(root, 'bin/run-ts.js'), 'examples/demo/main.ts', '--config', demoConfig(), '--duration', '12'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code, err).toBe(0);
    const frames = out.split('Trellis bookstore demo').filter(Boolean);
    const last = frames.at(-1) ?? '';
    const row = (edge: string) => last.split('\n').find((l) => l.startsWith(edge)) ?? '';
    const buyer = row('bookbuyer -> bookstore');
    expect(buyer, last).toMatch(/bookstore-v1 \d+%/);
    expect(buyer).toMatch(/bookstore-v2 \d+%/);
    const [, , allowed] = buyer.split(/\s{2,}/);
    expect(Number(allowed)).toBeGreaterThan(0);
    const thief = row('bookthief -> bookstore');
    expect(thief, last).not.toBe('');
    expect(Number(thief.split(/\s{2,}/)[2])).toBe(0); // nothing allowed
    expect(row('bookstore-v1 -> bookwarehouse')).toMatch(/bookwarehouse 100%/);
    expect(err).toContain('stopping workloads and controller');
  });
});
