import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'trellis-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** config/local.yaml as `npm start` uses it, with free ports and its relative paths made absolute. */
function localConfigOnFreePorts(): string {
  const text = readFileSync(join(root, 'config/local.yaml'), 'utf8')
    .replaceAll('../examples/', `${join(root, 'examples')}/`)
    .replace(/stateDir: [^ }]+/, `stateDir: ${join(work, 'ca')}`)
    .replace(/address: 0\.0\.0\.0:15128/, 'address: 127.0.0.1:0')
    .replace(/plaintextAddress: 127\.0\.0\.1:15129/, 'plaintextAddress: 127.0.0.1:0')
    .replace(/address: 127\.0\.0\.1:9091/, 'address: 127.0.0.1:0');
  const file = join(work, 'local.yaml');
  writeFileSync(file, text);
  return file;
}

describe('trellis controller as a process (what npm start runs)', () => {
  it('reaches /readyz 200 on the embedded default and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(root, 'bin/trellis.js'), 'controller', '--config', localConfigOnFreePorts()], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const adminUrl = await new Promise<string>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`controller did not start:\n${stderr}`)), 30_000);
        const check = () => {
          const m = /admin (http:\/\/[\d.]+:\d+)/.exec(stderr);
          if (m?.[1]) {
            clearTimeout(t);
            res(m[1]);
          } else setTimeout(check, 50);
        };
        check();
      });
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await fetch(`${adminUrl}/readyz`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      const policies = (await (await fetch(`${adminUrl}/debug/policies`)).json()) as { policies: { status: string }[] };
      expect(policies.policies.length).toBeGreaterThan(0);
      expect(policies.policies.every((p) => p.status === 'accepted')).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping mesh');
  });
});
