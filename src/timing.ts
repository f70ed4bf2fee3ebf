// process.hrtime, not performance.now(): the first use of the `performance` global loads perf_hooks
// (nine internal modules, about 1 ms), which every exec'd ADD and DEL would pay for a log line that is
// usually off.

/** A start mark for elapsedMs. */
export function startTimer(): bigint {
  return process.hrtime.bigint();
}

/** Milliseconds since `start` (from startTimer), to 0.1 ms. */
export function elapsedMs(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
}
