/** A human subcommand of the braid executable: loaded only when it is the one asked for. */
export interface Subcommand {
  /** One line for `braid --help`. */
  summary: string;
  /** Loads the module; its `main(args)` resolves to the exit code. */
  load: () => Promise<{ main: (args: string[]) => Promise<number> }>;
}

/**
 * Every subcommand, by name. Each entry is one line so that new subcommands never touch main.ts:
 * `braid <name> --help` is the subcommand's own business.
 */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  validate: { summary: 'check configs, NAD and pod manifests with the parsers ADD uses', load: () => import('./validate') },
  plan: { summary: 'dry-run ADD for a pod manifest: interfaces, delegate configs, default routes', load: () => import('./plan') },
  install: { summary: 'the DaemonSet entrypoint: install braid and its config on this node, keep them current', load: () => import('../install/main') },
  inspect: { summary: 'show the containers braid holds: attachments, states, IPs, results, stale locks', load: () => import('./inspect') },
  agent: { summary: 'the resident node agent: watch caches of NADs and pods, served to ADD on a unix socket', load: () => import('../agent/main') },
};
