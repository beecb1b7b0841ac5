/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';
import { PROXIES_PER_CLIENT_PROCESS } from './client-pool.ts';
import type { BenchArgs } from './context.ts';

export const SCENARIOS = [
  'idle-memory',
  'connect-storm',
  'single-change',
  'mesh-wide',
  'endpoint-churn',
  'certificates',
  'translation',
  'ceiling',
  'injection',
] as const;

/** The scenarios whose edits go through the API server with `--source kubernetes` (the connect storm always runs). */
export const KUBERNETES_SCENARIOS: readonly string[] = ['single-change', 'endpoint-churn'];

export const USAGE = `usage: npm run bench -- [--proxies N] [--services M] [--scenario NAME[,NAME]|all] [--delta | --protocols sotw,delta] [--out DIR]
                        [--quick] [--ceiling-budget SECONDS] [--file-debounce MS] [--debounce-max MS] [--connection-rate N] [--client-processes N] [--cpu-prof] [--trace-gc] [--heap-snapshot] [--otel]
                        [--source file|kubernetes]
scenarios: ${SCENARIOS.join(', ')}`;

function parseProtocols(v: string): ('sotw' | 'delta')[] {
  const list = v.split(',').map((x) => x.trim());
  for (const p of list) if (p !== 'sotw' && p !== 'delta') throw new Error(`--protocols: expected sotw and/or delta, got "${p}"\n${USAGE}`);
  return [...new Set(list)] as ('sotw' | 'delta')[];
}

export function parseBenchArgs(argv: string[], now = new Date()): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      proxies: { type: 'string', default: '2000' },
      services: { type: 'string', default: '1000' },
      scenario: { type: 'string', default: 'all' },
      delta: { type: 'boolean', default: false },
      protocols: { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'ceiling-budget': { type: 'string', default: '600' },
      'file-debounce': { type: 'string' },
      'debounce-max': { type: 'string' },
      'connection-rate': { type: 'string' },
      'client-processes': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'trace-gc': { type: 'boolean', default: false },
      'heap-snapshot': { type: 'boolean', default: false },
      otel: { type: 'boolean', default: false },
      source: { type: 'string', default: 'file' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got "${v}"\n${USAGE}`);
    return n;
  };
  const all = values.source === 'kubernetes' ? [...KUBERNETES_SCENARIOS] : [...SCENARIOS];
  const names = values.scenario === 'all' ? all : values.scenario.split(',').map((x) => x.trim());
  for (const n of names) if (!(SCENARIOS as readonly string[]).includes(n)) throw new Error(`--scenario: unknown scenario "${n}"\n${USAGE}`);
  if (values.source !== 'file' && values.source !== 'kubernetes') throw new Error(`--source: expected file or kubernetes, got "${values.source}"\n${USAGE}`);
  if (values.source === 'kubernetes') {
    const other = names.filter((n) => !KUBERNETES_SCENARIOS.includes(n));
    if (other.length) throw new Error(`--source kubernetes runs only ${KUBERNETES_SCENARIOS.join(', ')} (not ${other.join(', ')})\n${USAGE}`);
  }
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const proxies = int('proxies', values.proxies, 1);
  return {
    proxies,
    clientProcesses: values['client-processes'] !== undefined ? int('client-processes', values['client-processes'], 1) : Math.ceil(proxies / PROXIES_PER_CLIENT_PROCESS),
    services: int('services', values.services, 4),
    scenarios: new Set(names),
    delta: values.delta,
    protocols: parseProtocols(values.protocols ?? (values.delta ? 'delta' : 'sotw')),
    out: values.out ?? `bench-results/${stamp}`,
    quick: values.quick,
    ceilingBudgetS: int('ceiling-budget', values['ceiling-budget'], 10),
    ...(values['file-debounce'] !== undefined && { fileDebounceMs: int('file-debounce', values['file-debounce'], 0) }),
    ...(values['connection-rate'] !== undefined && { connectionsPerSecond: int('connection-rate', values['connection-rate'], 1) }),
    ...(values['debounce-max'] !== undefined && { debounceMaxMs: int('debounce-max', values['debounce-max'], 1) }),
    controllerNodeArgs: [
      ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', 'cpu-prof'] : []),
      // Each GC on the controller's stdout (its log, kept): pauses, and heap before/after (what was allocated).
      ...(values['trace-gc'] ? ['--trace-gc'] : []),
      ...(values['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2'] : []),
    ],
    heapSnapshot: values['heap-snapshot'],
    otel: values.otel,
    source: values.source,
  };
}
