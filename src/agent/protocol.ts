// The agent's socket protocol: one JSON object per line, each request answered by one line, in order,
// on a connection an exec'd braid holds for its whole ADD. Types and constants only, so the exec'd side
// pays nothing for importing them.
import type { NadObject } from '../k8s/api';
import type { PodObject } from '../k8s/pod';

/** The protocol version; an agent answers a request of another version with `ok: false` and its own `v`. */
export const PROTOCOL_VERSION = 1;

/** A pod as the protocol names it; `uid` is K8S_POD_UID ('' when the runtime did not pass one). */
export interface PodName { namespace: string; name: string; uid: string }

/** A NetworkAttachmentDefinition reference. */
export interface NadName { namespace: string; name: string }

/**
 * resolve: the pod, the NADs the caller names plus those the pod's annotations select, and its devices.
 * `podKnown`: the runtime passed the pod's annotations, so the pod is not read live on a cache miss.
 */
export interface ResolveRequest { v: number; op: 'resolve'; pod: PodName; nads: NadName[]; podKnown?: boolean }

/** report: network-status as a merge-patch on pods/status (guarded by `uid` when set), and events. */
export interface ReportRequest {
  v: number;
  op: 'report';
  pod: PodName;
  annotations: Record<string, string>;
  /** The UID events name (a static pod's mirror). */
  eventUid: string;
  events: PodEventSpec[];
}

/** One event to post about the pod. */
export interface PodEventSpec { reason: string; message: string; type?: 'Normal' | 'Warning' }

/** Any request. */
export type AgentRequest = ResolveRequest | ReportRequest;

/** What resolve answers: objects trimmed to the fields braid reads; `pod` absent when it does not exist. */
export interface ResolveReply {
  v: number;
  ok: true;
  pod?: PodObject;
  /** Every NAD asked or selected; `nad` absent when it does not exist. */
  nads: Array<NadName & { nad?: NadObject }>;
  /** Device IDs by resource name, when some NAD has a resourceName and the kubelet answered. */
  devices?: Record<string, string[]>;
  /** Why the devices could not be learnt (the kubelet's error), when they were needed. */
  devicesError?: string;
}

/** What report answers once the PATCH succeeded or failed: `written` false when the pod is gone. */
export interface ReportReply { v: number; ok: true; written: boolean }

/** A request the agent could not serve: `code` is the CNI code braid would fail with. */
export interface ErrorReply { v: number; ok: false; code: number; error: string }
