import { writeSync } from 'node:fs';

// braid writes stdout and stderr through their file descriptors: touching process.stdout or
// process.stderr on a pipe loads node's net stack, a cost every CNI invocation would pay.

/** Writes all of `text` to a file descriptor, waiting out EAGAIN on a non-blocking pipe; a closed fd is ignored. */
export function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
  }
}

/** Writes to stderr (logs, delegates' stderr). */
export function writeStderr(text: string): void {
  writeAll(2, text);
}
