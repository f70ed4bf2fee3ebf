import { spawn } from 'node:child_process';
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

function runOnce(file: string, opts: ExecOptions): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* a plugin may exit without reading stdin */ });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new CniError(ErrorCode.TryAgainLater, `plugin ${file} timed out after ${opts.timeoutMs} ms and was killed`));
        return;
      }
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code ?? (signal ? 128 : 1),
      });
    });
    child.stdin.end(opts.stdin);
  });
}

/** Runs a plugin with `stdin`, killing it after the timeout; retries "text file busy" as libcni does (5 × 1 s). */
export async function execPlugin(file: string, opts: ExecOptions): Promise<ExecOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(file, opts);
    } catch (e) {
      if (e instanceof CniError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ETXTBSY' && attempt < BUSY_RETRIES) {
        await new Promise((r) => setTimeout(r, BUSY_DELAY_MS));
        continue;
      }
      throw new CniError(ErrorCode.IoFailure, `cannot execute plugin ${file}: ${(e as Error).message}`);
    }
  }
}
