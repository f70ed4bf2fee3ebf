import { spawnSync } from 'node:child_process';
import { CniError, ErrorCode } from '../cni/errors';

/** What a finished plugin process left behind. */
export interface ExecOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** How to run one plugin process. */
export interface ExecOptions {
  env: NodeJS.ProcessEnv;
  stdin: string;
  timeoutMs: number;
}

const BUSY_RETRIES = 5;
const BUSY_DELAY_MS = 1000;
const MAX_OUTPUT = 64 * 1024 * 1024;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs a plugin with `stdin`, killing it (SIGKILL) after the timeout; retries "text file busy" as libcni
 * does (5 × 1 s). Synchronous on purpose: braid runs one delegate at a time, and spawnSync avoids
 * loading node's stream and socket machinery on every invocation.
 */
export function execPlugin(file: string, opts: ExecOptions): ExecOutcome {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(file, [], {
      env: opts.env,
      input: opts.stdin,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: MAX_OUTPUT,
      encoding: 'utf8',
    });
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ETXTBSY' && attempt < BUSY_RETRIES) {
      sleepSync(BUSY_DELAY_MS);
      continue;
    }
    if (code === 'ETIMEDOUT') {
      throw new CniError(ErrorCode.TryAgainLater, `plugin ${file} timed out after ${opts.timeoutMs} ms and was killed`);
    }
    // EPIPE only means the plugin exited without reading its config: its exit status still stands.
    if (r.error && !(code === 'EPIPE' && r.status !== null)) {
      throw new CniError(ErrorCode.IoFailure, `cannot execute plugin ${file}: ${r.error.message}`);
    }
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? 128 };
  }
}
