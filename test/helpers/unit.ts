import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { CniError } from '../../src/cni/errors';

const ROOT = path.resolve(__dirname, '../..');

const NOTHING_THROWN = 'expected a CniError, but nothing was thrown';

/** Asserts that what was thrown is a CniError, and returns it. */
function asCniError(e: unknown): CniError {
  expect(e).toBeInstanceOf(CniError);
  return e as CniError;
}

/** Runs `fn`, asserts it throws a CniError, and returns it. */
export function cniError(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    return asCniError(e);
  }
  throw new Error(NOTHING_THROWN);
}

/** Awaits `p`, asserts it rejects with a CniError, and returns it. */
export async function asyncCniError(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    return asCniError(e);
  }
  throw new Error(NOTHING_THROWN);
}

/** src/config/braid-config, after building its precompiled schema validator (src/generated, not in git) if missing. */
export async function importBraidConfig(): Promise<typeof import('../../src/config/braid-config')> {
  if (!fs.existsSync(path.join(ROOT, 'src/generated/validate-config.js'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'packaging/build.mjs'), '--validators-only'], { cwd: ROOT, stdio: 'inherit' });
  }
  return import('../../src/config/braid-config');
}
