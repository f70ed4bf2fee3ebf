import fs = require('node:fs');
import { asCniError } from '../cni/errors';
import { flag, runCommand, UsageError, type CommandSpec } from '../cli/args';
import { loadBraidConfigFile } from '../cli/config-file';
import { configureLog, log } from '../log';
import { writeAll } from '../stdio';
import { startAgent } from './agent';

/** The package version, set by the build. */
declare const BRAID_VERSION: string;

const SPEC: CommandSpec = {
  usage: `Usage: braid agent --config <file> [--node-name <name>] [--metrics-address <host:port>] [--grace <seconds>]

The resident node agent. It watches the NetworkAttachmentDefinitions and this node's pods, and answers
braid's ADDs on a unix socket (config key agentSocket, default /run/braid/agent.sock), so that an ADD
makes no API, TLS or kubelet connection of its own. braid falls back to its direct path whenever the
agent does not answer.

  --config FILE            braid's network config, a conf or conflist (the installed 00-braid.conflist):
                           kubeconfig, multusNamespace, kubeletSocket, agentSocket and timeouts come from it
  --node-name NAME         this node's name (default: $NODE_NAME)
  --metrics-address H:P    /healthz, /readyz and /metrics (default 0.0.0.0:9190; port 0 turns it off)
  --grace SECONDS          on SIGTERM, how long requests in flight may take to finish (default 10)
`,
  flags: { config: 'value', 'node-name': 'value', 'metrics-address': 'value', grace: 'value' },
};

/** `braid agent`: runs until SIGTERM or SIGINT, then shuts down gracefully. */
export async function main(argv: string[]): Promise<number> {
  return runCommand(argv, SPEC, async (parsed) => {
    const file = flag(parsed, 'config');
    if (!file) throw new UsageError('--config is required');
    const nodeName = flag(parsed, 'node-name') ?? process.env.NODE_NAME ?? '';
    if (!nodeName) throw new UsageError('the node name is required: --node-name or NODE_NAME');
    const address = flag(parsed, 'metrics-address') ?? '0.0.0.0:9190';
    const m = address.match(/^\[?(.*?)\]?:(\d+)$/);
    if (!m) throw new UsageError(`--metrics-address ${JSON.stringify(address)}: expected host:port`);
    const grace = Number(flag(parsed, 'grace') ?? 10);
    if (!(grace >= 0)) throw new UsageError('--grace must be a number of seconds');
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    try {
      // In the DaemonSet the installer writes the config; until it has, there is nothing to serve.
      if (!fs.existsSync(file)) writeAll(2, `braid agent: waiting for ${file}\n`);
      while (!fs.existsSync(file)) {
        if (await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000))])) return 0;
      }
      const config = loadBraidConfigFile(file);
      // An agent logs to its container's stderr, at least warnings, so that restarts and misses show.
      const level = ['panic', 'error'].includes(config.logLevel) ? 'warning' : config.logLevel;
      configureLog({ level, format: config.logFormat, toStderr: true, file: '', options: config.logOptions });
      const version = typeof BRAID_VERSION === 'string' ? BRAID_VERSION : 'dev';
      const agent = await startAgent(config, { nodeName, metricsHost: m[1] || '0.0.0.0', metricsPort: Number(m[2]), version, configFile: file });
      log('warning', `${await stopped}: finishing requests in flight`);
      await agent.stop(grace * 1000);
      return 0;
    } catch (e) {
      writeAll(2, `braid agent: ${asCniError(e).message}\n`);
      return 1;
    }
  });
}
