import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';

/** One document of a file: a CNI config or a Kubernetes object (a `kind: List` is split into its items). */
export interface Document {
  /** 1-based position of the document in its file (YAML `---` separated). */
  index: number;
  /** Pointer of the object within the document: '' or `/items/<i>` for a List item. */
  base: string;
  value: unknown;
}

const JSON_ONLY = ['.conf', '.conflist'];

/** Reads a file's documents as kubectl does (YAML or JSON, several per file, Lists expanded); .conf/.conflist are JSON as libcni reads them. */
export async function readDocuments(file: string): Promise<Document[]> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read: ${(e as Error).message}`);
  }
  let docs: unknown[];
  if (JSON_ONLY.includes(path.extname(file))) {
    try {
      docs = [JSON.parse(text)];
    } catch (e) {
      throw new CniError(ErrorCode.DecodeFailure, `invalid JSON: ${(e as Error).message}`);
    }
  } else {
    const yaml = await import('js-yaml'); // YAML is a superset of JSON: .json manifests load too
    try {
      docs = yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
    } catch (e) {
      throw new CniError(ErrorCode.DecodeFailure, `invalid YAML: ${(e as Error).message}`);
    }
  }
  return docs.flatMap((value, i) => {
    const items = (value as { kind?: unknown; items?: unknown })?.kind === 'List' ? (value as { items?: unknown }).items : undefined;
    if (!Array.isArray(items)) return [{ index: i + 1, base: '', value }];
    return items.map((item, j) => ({ index: i + 1, base: `/items/${j}`, value: item }));
  });
}

/** The Kubernetes kind of a document, or undefined for anything else (a CNI config). */
export function kindOf(doc: unknown): string | undefined {
  const d = doc as { kind?: unknown; apiVersion?: unknown } | null;
  return typeof d?.kind === 'string' && typeof d.apiVersion === 'string' ? d.kind : undefined;
}

/** Pod metadata as a manifest carries it. */
export interface PodMeta { name?: unknown; namespace?: unknown; uid?: unknown; annotations?: Record<string, unknown> }

// Workloads carry their pods' metadata in a template.
const TEMPLATES: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  PodTemplate: ['template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** A pod manifest's metadata (a Pod's own, or a workload's pod template's) and its pointer; undefined for other kinds. */
export function podMetadata(doc: unknown): { pointer: string; metadata: PodMeta } | undefined {
  const kind = kindOf(doc);
  const steps = kind !== undefined && Object.hasOwn(TEMPLATES, kind) ? TEMPLATES[kind] : undefined;
  if (!steps) return undefined;
  let node = doc as Record<string, unknown> | undefined;
  for (const step of steps) node = node?.[step] as Record<string, unknown> | undefined;
  const metadata = (node?.metadata ?? {}) as PodMeta;
  return { pointer: `${steps.map((s) => `/${s}`).join('')}/metadata`, metadata };
}
