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
    .replace(/address: 127\.0\.0\.1:9091/, 'address: 127.0.0.1:0')
    .replace(/address: 127\.0\.0\.1:15130/, 'address: 127.0.0.1:0')
    .replace(/tokenDir: [^\n]+/, `tokenDir: ${join(work, 'tokens')}`);
  const file = join(work, 'demo.yaml');
  writeFileSync(file, text);
  return file;
}

describe('npm run demo (real gRPC workloads driven by the controller)', () => {
  it('lets bookbuyer buy from both bookstore versions, keeps bookthief out, and stops cleanly', async () => {
    // The demo prints a frame every second over the last 5 s. On a loaded machine the workloads take a while to
    // start calling, so the test waits (up to 60 s) for a frame in which bookbuyer reached both versions, then
    // stops the demo as a user would (Ctrl-C) and checks that frame.
    const child = spawn(process.execPath, [join(root, 'bin/run-ts.js'), 'examples/demo/main.ts', '--config', demoConfig(), '--duration', '60'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const row = (frame: string, edge: string) => frame.split('\n').find((l) => l.startsWith(edge)) ?? '';
    const complete = (frame: string) =>
      /bookstore-v1 \d+%/.test(row(frame, 'bookbuyer -> bookstore')) &&
      /bookstore-v2 \d+%/.test(row(frame, 'bookbuyer -> bookstore')) &&
      row(frame, 'bookthief -> bookstore') !== '' &&
      /bookwarehouse 100%/.test(row(frame, 'bookstore-v1 -> bookwarehouse'));
    let seen: string | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const frames = out.split('Trellis bookstore demo').filter(Boolean);
      // A frame is whole once the next one started.
      const whole = frames.slice(0, -1).find(complete);
      if (whole && seen === undefined) {
        seen = whole;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code, err).toBe(0);
    const frame = seen ?? out.split('Trellis bookstore demo').filter(Boolean).at(-1) ?? '';
    const buyer = row(frame, 'bookbuyer -> bookstore');
    expect(buyer, frame).toMatch(/bookstore-v1 \d+%/);
    expect(buyer).toMatch(/bookstore-v2 \d+%/);
    const [, , allowed] = buyer.split(/\s{2,}/);
    expect(Number(allowed)).toBeGreaterThan(0);
    const thief = row(frame, 'bookthief -> bookstore');
    expect(thief, frame).not.toBe('');
    expect(Number(thief.split(/\s{2,}/)[2])).toBe(0); // nothing allowed
    expect(row(frame, 'bookstore-v1 -> bookwarehouse')).toMatch(/bookwarehouse 100%/);
    expect(err).toContain('stopping workloads and controller');
  }, 90_000);
});
