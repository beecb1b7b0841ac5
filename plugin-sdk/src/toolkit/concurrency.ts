/**
 * Runs `fn` over `items` with at most `limit` calls in flight (a root rotation re-issuing thousands of
 * certificates must not start them all at once). Results keep the input order. After a failure no new item
 * starts; the first error is thrown once the calls in flight have settled.
 */
export async function mapConcurrent<T, R>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  const list = [...items];
  const results = new Array<R>(list.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < list.length) {
      const i = next++;
      try {
        results[i] = await fn(list[i] as T, i);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
  if (failed) throw firstError;
  return results;
}
