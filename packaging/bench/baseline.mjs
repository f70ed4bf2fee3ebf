// Builds an earlier braid for side-by-side arms: a git worktree of that revision, sharing node_modules.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { env, NODE22, root } from './world.mjs';

/** Builds `rev` into .bench/<commit>/braid once and returns its path; undefined (with a note) if impossible. */
export function buildBaseline(rev) {
  let commit;
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', `${rev}^{commit}`], { encoding: 'utf8' }).trim();
  } catch {
    console.log(`(baseline ${rev} is not a commit here; skipping the comparison)`);
    return undefined;
  }
  const out = path.join(root, '.bench', commit, 'braid');
  if (fs.existsSync(out)) return out;
  const tree = path.join(os.tmpdir(), `braid-baseline-${commit}-${process.pid}`);
  try {
    execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', '-f', tree, commit], { stdio: 'ignore' });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(tree, 'node_modules'));
    execFileSync(NODE22, [path.join(tree, 'packaging/build.mjs'), '--code-cache', `--out=${out}`, '--no-typecheck'], { cwd: tree, stdio: 'ignore', env });
    return out;
  } catch (e) {
    console.log(`(baseline ${rev} could not be built: ${e.message.split('\n')[0]}; skipping the comparison)`);
    return undefined;
  } finally {
    try { execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' }); } catch {}
    fs.rmSync(tree, { recursive: true, force: true });
  }
}
