import * as fs from 'node:fs';
import { expect } from 'vitest';
import type { BraidOutcome } from './braid';
import type { Sandbox } from './host';

/** Asserts that braid succeeded, showing its output when it did not. */
export function ok(r: BraidOutcome): void {
  expect(r.status, `braid failed: stdout=${r.stdout} stderr=${r.stderr}`).toBe(0);
}

/** Asserts a CNI error on stdout with `code`, returning its msg. */
export function failed(r: BraidOutcome, code: number): string {
  expect(r.status, `expected failure: stdout=${r.stdout} stderr=${r.stderr}`).not.toBe(0);
  expect(r.json, `stdout is not CNI error JSON: ${r.stdout}`).toBeTypeOf('object');
  expect(r.json.code, r.stdout).toBe(code);
  expect(typeof r.json.msg).toBe('string');
  return r.json.msg as string;
}

/** One call a recording test plugin (fake, sriov) appended to its FAKE_LOG. */
export interface FakeCall {
  command: string;
  env: Record<string, string>;
  config: Record<string, any>;
  /** FAKE_ECHO, when the caller set it. */
  echo?: string;
  /** sriov plugin: runtimeConfig.CNIDeviceInfoFile's text when the call began (null when absent). */
  deviceInfoBefore?: string | null;
}

/** The calls recorded in a FAKE_LOG file, oldest first ([] when nothing ran). */
export function fakeCalls(log: string): FakeCall[] {
  if (!fs.existsSync(log)) return [];
  return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeCall);
}

/** braid's config named braid, with the sandbox's dirs as cniDir, binDir and confDir, plus `extra`. */
export function braidConf(sb: Sandbox, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'braid', type: 'braid', cniDir: sb.cniDir, binDir: sb.dir, confDir: sb.confDir, ...extra };
}
