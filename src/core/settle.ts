/**
 * Promise.all that waits for every promise before it rejects with the first failure. For
 * steps run side by side whose failure is cleaned up afterwards: the cleanup must not race
 * a step still under way (a mount, a mkdir) and miss what it leaves behind.
 */
export async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
