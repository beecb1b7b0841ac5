/**
 * How many runs and which seed a fuzz suite uses: fixed seed and the suite's own small count in `npm test`;
 * `npm run fuzz` sets `TRELLIS_FUZZ_RUNS` (more runs) and `TRELLIS_FUZZ_SEED=random` (a new seed each time,
 * printed so a failure can be replayed with `TRELLIS_FUZZ_SEED=<seed>`).
 */
export function fuzzSettings(defaultRuns: number): { runs: number; seed: number } {
  const runs = Number(process.env.TRELLIS_FUZZ_RUNS ?? defaultRuns);
  const raw = process.env.TRELLIS_FUZZ_SEED;
  const seed = raw === 'random' ? Date.now() % 2 ** 31 : Number(raw ?? 20261201);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`TRELLIS_FUZZ_RUNS must be a positive integer, got "${process.env.TRELLIS_FUZZ_RUNS}"`);
  if (!Number.isInteger(seed)) throw new Error(`TRELLIS_FUZZ_SEED must be an integer or "random", got "${raw}"`);
  if (raw === 'random') process.stdout.write(`fuzz seed ${seed} (replay with TRELLIS_FUZZ_SEED=${seed})\n`);
  return { runs, seed };
}
