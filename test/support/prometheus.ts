/**
 * The real Prometheus server (Debian's `prometheus` package) for tests: scrapes the given targets every
 * `scrapeInterval` from a temporary storage directory on a free loopback port, and answers PromQL through its
 * HTTP API (`/api/v1/query`). Nothing here fakes Prometheus; it only starts and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, tools } from './tools.ts';

export interface ScrapeTarget {
  readonly job: string;
  /** `http://host:port/path` of the metrics. */
  readonly url: string;
  /** Labels Prometheus attaches to every series of this target (as relabelling would). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class PrometheusServer {
  #stderr = '';
  private constructor(
    readonly url: string,
    readonly child: ChildProcess,
    readonly dir: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-8000);
    });
  }

  static async start(targets: readonly ScrapeTarget[], opts: { scrapeInterval?: string } = {}): Promise<PrometheusServer> {
    const bin = requireTool(tools.prometheus);
    const dir = await mkdtemp(join(tmpdir(), 'trellis-prom-'));
    const interval = opts.scrapeInterval ?? '1s';
    const jobs = targets.map((t) => {
      const u = new URL(t.url);
      return [
        `  - job_name: ${JSON.stringify(t.job)}`,
        `    scrape_interval: ${interval}`,
        `    scrape_timeout: ${interval}`,
        `    metrics_path: ${JSON.stringify(u.pathname)}`,
        `    static_configs: [{ targets: [${JSON.stringify(u.host)}]${t.labels ? `, labels: ${JSON.stringify(t.labels)}` : ''} }]`,
      ].join('\n');
    });
    const config = join(dir, 'prometheus.yml');
    await writeFile(config, `global:\n  scrape_interval: ${interval}\n  evaluation_interval: ${interval}\nscrape_configs:\n${jobs.join('\n')}\n`);
    // Prometheus binds the port itself: take a free one and retry on the rare race with another process.
    for (let attempt = 0; ; attempt++) {
      const port = await freeLoopbackPort();
      const child = spawn(
        bin,
        [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, dir);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = server.#waitReady(60_000);
      const first = await Promise.race([ready.then(() => 'ready' as const), exited.then(() => 'exited' as const)]);
      if (first === 'ready') return server;
      if (attempt >= 2) throw new Error(`prometheus exited before becoming ready: ${server.#stderr}`);
    }
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${this.url}/-/ready`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > end || this.child.exitCode !== null) throw new Error(`prometheus not ready: ${this.#stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** An instant query; the result vector (scalars become one sample without labels). */
  async query(promql: string): Promise<Sample[]> {
    const r = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success' || !body.data) throw new Error(`PromQL ${promql}: ${body.error ?? r.status}`);
    if (body.data.resultType === 'scalar') return [{ metric: {}, value: Number((body.data.result as [number, string])[1]) }];
    return (body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
  }

  /** Polls `promql` until `accept` holds for its result (under load scrapes and rule windows lag). */
  async waitFor(promql: string, accept: (samples: Sample[]) => boolean, timeoutMs = 60_000): Promise<Sample[]> {
    const end = Date.now() + timeoutMs;
    let last: Sample[] | string;
    for (;;) {
      try {
        last = await this.query(promql);
        if (accept(last)) return last;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > end) throw new Error(`PromQL ${promql} never gave an acceptable answer within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Targets Prometheus scrapes, with their health (`up`, `down`, `unknown`) and last error. */
  async targets(): Promise<{ job: string; health: string; lastError: string }[]> {
    const r = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } };
    return r.data.activeTargets.map((t) => ({ job: t.labels.job, health: t.health, lastError: t.lastError }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
