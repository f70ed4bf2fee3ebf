import fs = require('node:fs');

/** The text of `file`, or undefined when it cannot be read. */
export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Removes `file` if present; true when it was there. */
export function removeIfExists(file: string): boolean {
  try {
    fs.rmSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Removes an empty directory; a non-empty or missing one is left as it is. */
export function removeDirIfEmpty(dir: string): void {
  try {
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  } catch {
    // missing, or someone else's files in it
  }
}
