import fs = require('node:fs');
import path = require('node:path');
import { log } from '../log';
import { replaceFile, writeFileAtomic } from '../store/files';
import type { InstallFlags } from './flags';
import { readIfExists, removeDirIfEmpty, removeIfExists } from './fsutil';
import { checkBraidConfig, generateConfig } from './generate';
import { kubeconfigText, readClusterAccess } from './kubeconfig';
import type { Layout } from './layout';
import { OWN_CONF_NAME } from './layout';
import { runtimeDefault, scanConfDir } from './master';
import { readOptionsFile } from './options';

/** The config file braid should have in the conf dir right now, or why there is none. */
type Desired = { file: string; text: string; from: string } | { none: string };

/**
 * One node's installation: the config and kubeconfig kept in step with the master conf, the options file
 * and the service-account token, checked every poll. Every change is one log line; repeats are not logged.
 */
export class Installer {
  private readonly said = new Map<string, string>();
  private installed = false;
  private lastGood?: { master: string; desired: Desired };

  constructor(private readonly flags: InstallFlags, private readonly paths: Layout, private readonly env: NodeJS.ProcessEnv) {}

  /** True once braid's config is written, until it is removed. */
  isInstalled(): boolean {
    return this.installed;
  }

  /** The config file this installer owns in the conf dir: 00-braid.conflist, or --config-file's name. */
  configTarget(): string {
    const name = this.flags.configFile === 'auto' ? OWN_CONF_NAME : path.basename(this.flags.configFile);
    return path.join(this.flags.cniConfDir, name);
  }

  /** Logs `msg` unless it is what was last said about `topic`. */
  private once(topic: string, level: 'verbose' | 'warning' | 'error', msg: string): void {
    if (this.said.get(topic) === msg) return;
    this.said.set(topic, msg);
    log(level, msg);
  }

  /** Brings the host in line with the current inputs; errors are logged and leave the node not ready. */
  async sync(): Promise<void> {
    try {
      const kubeconfigHost = this.syncKubeconfig();
      const desired = await this.desiredConfig(kubeconfigHost);
      if ('none' in desired) {
        this.removeConfig(desired.none);
        this.once('state', 'verbose', desired.none);
        return;
      }
      this.writeConfig(desired);
      this.said.delete('error');
      this.setReady(true);
    } catch (e) {
      this.once('error', 'error', (e as Error).message);
      this.setReady(false);
    }
  }

  // The token and kubeconfig, rewritten only when they differ from what is on disk.
  private syncKubeconfig(): string | undefined {
    const found = readClusterAccess(this.env, this.flags.serviceAccountDir);
    if ('clusterless' in found) {
      this.once('cluster', 'verbose', `clusterless host (${found.clusterless}): no kubeconfig written, the config has no kubeconfig key`);
      return undefined;
    }
    const { access } = found;
    this.once('cluster', 'verbose', `in cluster: API server ${access.server}, node kubeconfig ${this.paths.kubeconfigHost}`);
    if (readIfExists(this.paths.token) !== access.token) {
      const rotated = fs.existsSync(this.paths.token);
      writeFileAtomic(this.paths.token, access.token);
      log('verbose', `${rotated ? 'service-account token rotated: rewrote' : 'wrote'} token file ${this.paths.token} (0600)`);
    }
    const text = kubeconfigText(access, this.paths.tokenHost);
    if (readIfExists(this.paths.kubeconfig) !== text) {
      writeFileAtomic(this.paths.kubeconfig, text);
      log('verbose', `wrote kubeconfig ${this.paths.kubeconfig} (server ${access.server}, token file ${this.paths.tokenHost})`);
    }
    return this.paths.kubeconfigHost;
  }

  private async desiredConfig(kubeconfigHost: string | undefined): Promise<Desired> {
    const flags = this.flags;
    if (flags.configFile !== 'auto') {
      const text = fs.readFileSync(flags.configFile, 'utf8');
      try {
        checkBraidConfig(JSON.parse(text) as Record<string, unknown>);
      } catch (e) {
        throw new Error(`--config-file ${flags.configFile}: ${(e as Error).message}`);
      }
      return { file: this.configTarget(), text, from: `--config-file ${flags.configFile}` };
    }
    const scan = scanConfDir(flags.autoconfigDir, OWN_CONF_NAME, flags.masterCniFileName);
    scan.skipped.forEach((s) => this.once(`skip ${s.file}`, 'warning', `not a master conf: ${s.file}: ${s.reason}`));
    // A master caught mid-rewrite (empty or cut short) is not a new master, nor a missing one: keep its config.
    const last = this.lastGood;
    if (last && scan.master?.file !== last.master && scan.skipped.some((s) => s.file === last.master)) {
      this.once('state', 'warning', `master ${last.master} does not parse (being rewritten?): keeping the current config`);
      return last.desired;
    }
    if (!scan.master) {
      this.lastGood = undefined;
      const which = flags.masterCniFileName ? `master conf ${flags.masterCniFileName}` : 'a master conf (the cluster network\'s)';
      return { none: `waiting for ${which} in ${flags.autoconfigDir}` };
    }
    const options = flags.optionsFile ? await readOptionsFile(flags.optionsFile) : {};
    if (!options) this.once('options', 'verbose', `options file ${flags.optionsFile} does not exist: no options`);
    else this.said.delete('options');
    const masterHostFile = this.paths.hostPath(scan.master.file);
    const doc = generateConfig({
      master: scan.master.net,
      masterHostFile,
      cniVersion: flags.cniVersion,
      overrideNetworkName: flags.overrideNetworkName,
      kubeconfigHost,
      binDirHost: this.paths.hostPath(flags.cniBinDir),
      flagKeys: flags.configKeys,
      options: options ?? {},
    });
    checkBraidConfig(doc);
    const desired = { file: this.configTarget(), text: `${JSON.stringify(doc, null, 2)}\n`, from: `master ${scan.master.file} (host path ${masterHostFile})` };
    this.lastGood = { master: scan.master.file, desired };
    return desired;
  }

  private writeConfig(desired: Exclude<Desired, { none: string }>): void {
    if (readIfExists(desired.file) !== desired.text) {
      const verb = this.installed ? 'regenerated' : 'wrote';
      replaceFile(desired.file, desired.text, 0o644);
      log('verbose', `${verb} ${desired.file} from ${desired.from}`);
    }
    this.installed = true;
    this.said.set('state', 'installed'); // so that a later wait for the master is logged again
    const first = runtimeDefault(path.dirname(desired.file));
    if (first && path.resolve(first) !== path.resolve(desired.file)) {
      this.once('order', 'warning', `the runtime loads ${first} before ${desired.file}: rename it so that braid's config sorts first`);
    } else {
      this.said.delete('order');
    }
  }

  // The master is gone: a config that points at a missing cluster network must not stay (Multus #1306).
  private removeConfig(why: string): void {
    this.setReady(false); // first: the node is never ready without its config
    const file = this.configTarget();
    if (removeIfExists(file)) log('verbose', `removed ${file}: ${why}`);
    this.installed = false;
  }

  private setReady(ready: boolean): void {
    const file = this.flags.readinessFile;
    if (ready && !fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${this.configTarget()}\n`);
      log('verbose', `ready: wrote ${file}`);
    } else if (!ready && removeIfExists(file)) {
      log('verbose', `not ready: removed ${file}`);
    }
  }

  /** On SIGTERM: always withdraws readiness; with --cleanup-config-on-exit also removes the config and kubeconfig. */
  cleanup(): void {
    this.setReady(false);
    if (!this.flags.cleanupConfigOnExit) {
      log('verbose', 'leaving the config and kubeconfig in place (no --cleanup-config-on-exit)');
      return;
    }
    const files = [this.configTarget(), this.paths.kubeconfig, this.paths.token];
    for (const f of files) if (removeIfExists(f)) log('verbose', `cleanup: removed ${f}`);
    removeDirIfEmpty(this.paths.kubeconfigDir);
  }
}
