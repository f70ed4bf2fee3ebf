import { asCniError } from '../cni/errors';
import { DEFAULTS } from '../config/braid-config';
import { writeAll } from '../stdio';
import { flag, outputFormat, runCommand, UsageError, type CommandSpec } from './args';
import { loadBraidConfigFile } from './config-file';
import type { Finding } from './findings';
import { readDocuments } from './manifests';
import { checkDocument, type CheckContext } from './validate-checks';

const SPEC: CommandSpec = {
  usage: `Usage: braid validate [flags] FILE...

Checks braid and Multus configs (.conf, .conflist), NetworkAttachmentDefinition manifests and pod
manifests' k8s.v1.cni.cncf.io/networks and v1.multus-cni.io/default-network annotations (YAML or JSON,
several documents per file, kind: List, workloads' pod templates) with the parsers ADD uses.
On this machine, it also checks what ADD would meet: every delegate type of a NAD, of inline delegates
and of the networks a braid config names must be in the bin dirs and list the network's cniVersion
among the versions it answers to VERSION; each clusterNetwork and defaultNetworks entry must resolve
(a file, a directory, a conf in confDir or a NAD in nadDir; one only the API knows is a warning).

Each problem is printed as FILE[#DOC] POINTER: message, where POINTER is a JSON pointer to the field;
it continues into the JSON text of spec.config and of the annotations.

Flags:
  --config FILE      braid config (conf or conflist) to check NADs and pods against: its confDir,
                     cniVersion, multusNamespace and binDir (default: Multus's defaults)
  --bin-dir DIR      where delegates are looked for (repeatable; default: the config's binDir or
                     /opt/cni/bin, then CNI_PATH)
  --no-plugin-check  skip the checks of this machine (e.g. in CI, away from the nodes)
  -o, --output FMT   text (default) or json
  -h, --help         this text

--output json prints {"valid": BOOL, "errors": [F...], "warnings": [F...]}, each F being
{"file", "document" (in a multi-document file), "pointer", "message", "code" (errors: ADD's CNI code)}.

Exit status: 0 valid (warnings allowed), 1 errors found, 2 usage error.
`,
  flags: { config: 'value', 'bin-dir': 'list', 'no-plugin-check': 'switch', output: 'value' },
};

/** One finding with the file and document it is in. */
export interface LocatedFinding extends Finding { file: string; document?: number }

function context(configFile: string | undefined, binDirs: string[] | undefined, pluginCheck: boolean): CheckContext {
  const config = configFile ? loadBraidConfigFile(configFile) : undefined;
  // As ADD searches: the config's binDir, then CNI_PATH; --bin-dir replaces both.
  const dirs = (binDir: string) => [...new Set(binDirs ?? [binDir, ...(process.env.CNI_PATH ?? '').split(':').filter(Boolean)])];
  return {
    config: config ?? { confDir: DEFAULTS.confDir, cniVersion: '', multusNamespace: DEFAULTS.multusNamespace, binDir: DEFAULTS.binDir },
    binDirs: pluginCheck ? dirs : undefined,
  };
}

/** Validates every document of `files`; findings in file order. */
export async function validateFiles(files: string[], ctx: CheckContext): Promise<LocatedFinding[]> {
  const out: LocatedFinding[] = [];
  for (const file of files) {
    let docs;
    try {
      docs = await readDocuments(file);
    } catch (e) {
      const err = asCniError(e);
      out.push({ file, severity: 'error', pointer: '', message: err.message, code: err.code });
      continue;
    }
    for (const doc of docs) {
      const located = (await checkDocument(doc.value, file, ctx)).map((f) => ({ file, ...(docs.length > 1 || doc.base ? { document: doc.index } : {}), ...f, pointer: `${doc.base}${f.pointer}` }));
      out.push(...located);
    }
  }
  return out;
}

function line(f: LocatedFinding): string {
  return `  ${f.file}${f.document !== undefined ? `#${f.document}` : ''} ${f.pointer || '/'}: ${f.message}\n`;
}

function render(findings: LocatedFinding[], files: number): string {
  const errors = findings.filter((f) => f.severity === 'error');
  const warnings = findings.filter((f) => f.severity === 'warning');
  let text = '';
  if (errors.length > 0) text += `errors (${errors.length}):\n${errors.map(line).join('')}`;
  if (warnings.length > 0) text += `warnings (${warnings.length}):\n${warnings.map(line).join('')}`;
  return `${text}${errors.length > 0 ? 'invalid' : 'valid'}: ${files} file(s), ${errors.length} error(s), ${warnings.length} warning(s)\n`;
}

/** `braid validate FILE...`: exit 0 valid, 1 errors, 2 usage. */
export function main(args: string[]): Promise<number> {
  return runCommand(args, SPEC, async (parsed) => {
    const format = outputFormat(parsed);
    if (parsed.positionals.length === 0) throw new UsageError('no FILE given');
    let ctx: CheckContext;
    try {
      ctx = context(flag(parsed, 'config'), parsed.flags.get('bin-dir'), !parsed.flags.has('no-plugin-check'));
    } catch (e) {
      throw new UsageError(`--config: ${asCniError(e).message}`);
    }
    const findings = await validateFiles(parsed.positionals, ctx);
    const valid = !findings.some((f) => f.severity === 'error');
    if (format === 'json') {
      const pick = (s: Finding['severity']) => findings.filter((f) => f.severity === s).map(({ severity: _, ...f }) => f);
      writeAll(1, `${JSON.stringify({ valid, errors: pick('error'), warnings: pick('warning') }, null, 2)}\n`);
    } else {
      writeAll(1, render(findings, parsed.positionals.length));
    }
    return valid ? 0 : 1;
  });
}
