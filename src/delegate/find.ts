import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';

/** True when a plugin `type` is a plain file name, so it cannot escape the plugin directories. */
export function isPlainFileName(type: string): boolean {
  return type !== '' && type !== '.' && type !== '..' && !type.includes('/') && !type.includes('\0');
}

/** Finds a plugin binary: the first regular file named `type` in `dirs` (binDir first, then CNI_PATH). */
export function findPlugin(type: string, dirs: string[]): string {
  if (!isPlainFileName(type)) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid plugin type ${JSON.stringify(type)}: must be a plain file name`);
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, type);
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(ErrorCode.InvalidConfig, `failed to find plugin ${JSON.stringify(type)} in path [${dirs.join(' ')}]`);
}
