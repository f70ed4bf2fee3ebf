import { spawn, spawnSync } from 'node:child_process';
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

/** One plugin process run to its end, the way both runners report it. */
type RawRun = { stdout: string; stderr: string; status: number | null; error?: NodeJS.ErrnoException; timedOut: boolean };

const BUSY_RETRIES = 5;
const BUSY_DELAY_MS = 1000;
const MAX_OUTPUT = 64 * 1024 * 1024;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// 'busy' asks for another attempt ("text file busy", as libcni retries it); otherwise the outcome or its error.
function judge(file: string, opts: ExecOptions, r: RawRun, attempt: number): ExecOutcome | 'busy' {
  const code = r.error?.code;
  if (code === 'ETXTBSY' && attempt < BUSY_RETRIES) return 'busy';
  if (r.timedOut) throw new CniError(ErrorCode.TryAgainLater, `plugin ${file} timed out after ${opts.timeoutMs} ms and was killed`);
  // EPIPE only means the plugin exited without reading its config: its exit status still stands.
  if (r.error && !(code === 'EPIPE' && r.status !== null)) {
    throw new CniError(ErrorCode.IoFailure, `cannot execute plugin ${file}: ${r.error.message}`);
  }
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? 128 };
}

/**
 * Runs a plugin with `stdin`, killing it (SIGKILL) after the timeout; retries "text file busy" as libcni
 * does (5 × 1 s). Synchronous on purpose: an exec'd braid runs one delegate at a time, and spawnSync avoids
 * loading node's stream and socket machinery on every invocation.
 */
export function execPlugin(file: string, opts: ExecOptions): ExecOutcome {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(file, [], { env: opts.env, input: opts.stdin, timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, encoding: 'utf8' });
    const error = r.error as NodeJS.ErrnoException | undefined;
    const outcome = judge(file, opts, { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status, error, timedOut: error?.code === 'ETIMEDOUT' }, attempt);
    if (outcome !== 'busy') return outcome;
    sleepSync(BUSY_DELAY_MS);
  }
}

function spawnOnce(file: string, opts: ExecOptions): Promise<RawRun> {
  return new Promise((resolve) => {
    const child = spawn(file, [], { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let error: NodeJS.ErrnoException | undefined;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin.on('error', (e: NodeJS.ErrnoException) => { error ??= e; });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status: null, error: e, timedOut });
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status, error, timedOut });
    });
    child.stdin.end(opts.stdin);
  });
}

/** execPlugin without blocking the event loop: for the resident agent, which keeps serving while a delegate runs. */
export async function execPluginAsync(file: string, opts: ExecOptions): Promise<ExecOutcome> {
  for (let attempt = 0; ; attempt++) {
    const outcome = judge(file, opts, await spawnOnce(file, opts), attempt);
    if (outcome !== 'busy') return outcome;
    await new Promise((r) => setTimeout(r, BUSY_DELAY_MS));
  }
}

let runner: (file: string, opts: ExecOptions) => ExecOutcome | Promise<ExecOutcome> = execPlugin;

/** Runs every later delegate with execPluginAsync (a long-lived process that must stay responsive). */
export function runDelegatesAsynchronously(): void {
  runner = execPluginAsync;
}

/** Runs a plugin with the runner this process uses (execPlugin unless runDelegatesAsynchronously was called). */
export function runPlugin(file: string, opts: ExecOptions): ExecOutcome | Promise<ExecOutcome> {
  return runner(file, opts);
}
