import { CniError, ErrorCode } from './errors';

/** The CNI commands braid implements. */
export type Command = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

/** One CNI invocation as the runtime described it in the environment. */
export interface Request {
  command: Command;
  containerID: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS exactly as received ("K=V;K=V"). */
  args: string;
  /** CNI_PATH split on ':'. */
  path: string[];
}

const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'];

// Per spec table 1.1; CNI_PATH as libcni's skel requires it (STATUS follows the spec: optional).
const REQUIRED: Record<Command, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  STATUS: [],
  GC: ['CNI_PATH'],
  VERSION: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks a container ID against the spec's syntax (so it is also a safe file name). */
export function validContainerID(id: string): boolean {
  return CONTAINER_ID.test(id);
}

/** Checks that an interface name is one Linux accepts (1-15 bytes: IFNAMSIZ counts bytes, not characters; no '/', ':' or whitespace). */
export function validIfname(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name, 'utf8') <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** Reads and validates the CNI_* environment for the command it names. */
export function parseEnv(env: NodeJS.ProcessEnv): Request {
  const command = env.CNI_COMMAND ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(ErrorCode.InvalidEnv, `unknown CNI_COMMAND: ${command}`);
  }
  const cmd = command as Command;
  const missing = REQUIRED[cmd].filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnv, `required env variables [${missing.join(',')}] missing`);
  }
  const req: Request = {
    command: cmd,
    containerID: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
  if (REQUIRED[cmd].includes('CNI_CONTAINERID') && !validContainerID(req.containerID)) {
    throw new CniError(ErrorCode.InvalidEnv, `CNI_CONTAINERID ${JSON.stringify(req.containerID)} is invalid: must match ${CONTAINER_ID.source}`);
  }
  if (REQUIRED[cmd].includes('CNI_IFNAME') && !validIfname(req.ifname)) {
    throw new CniError(ErrorCode.InvalidEnv,
      `CNI_IFNAME ${JSON.stringify(req.ifname)} is not a valid interface name: 1 to 15 bytes (${Buffer.byteLength(req.ifname, 'utf8')} given), without '/', ':' or whitespace`);
  }
  if (cmd === 'VERSION') return req; // VERSION needs nothing but CNI_COMMAND
  const pairs = parseCniArgs(req.args);
  // DEL works from the cache, whatever CNI_ARGS says about the pod.
  if (cmd !== 'DEL') checkPodArgs(new Map(pairs));
  return req;
}

// Half a pod reference would read as "not a pod" and silently skip the pod's networks.
function checkPodArgs(args: Map<string, string>): void {
  const name = args.get('K8S_POD_NAME') ?? '';
  const namespace = args.get('K8S_POD_NAMESPACE') ?? '';
  if ((name === '') === (namespace === '')) return;
  const [set, empty] = name ? ['K8S_POD_NAME', 'K8S_POD_NAMESPACE'] : ['K8S_POD_NAMESPACE', 'K8S_POD_NAME'];
  throw new CniError(ErrorCode.InvalidConfig,
    `CNI_ARGS: ${set} is ${JSON.stringify(name || namespace)} but ${empty} is empty: a pod needs both (or neither, for a non-pod container)`);
}

/** Splits CNI_ARGS ("K=V;K=V") into pairs; a pair without '=' is an error naming CNI_ARGS. */
export function parseCniArgs(args: string): Array<[string, string]> {
  if (!args) return [];
  return args.split(';').filter((p) => p !== '').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(ErrorCode.InvalidEnv, `CNI_ARGS: invalid pair ${JSON.stringify(pair)}`);
    return [pair.slice(0, eq), pair.slice(eq + 1)] as [string, string];
  });
}
