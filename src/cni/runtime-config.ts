import { isIPOrCIDR } from './ip';

/** One ill-typed runtimeConfig value: a JSON pointer to it and what it must be. */
export interface RuntimeConfigProblem { pointer: string; message: string }

type Check = (v: unknown) => boolean;

const isObject: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const listOf = (item: Check): Check => (v) => Array.isArray(v) && v.every(item);

// The well-known capability keys (CNI CONVENTIONS.md) and the shape their plugins read. A value of the
// wrong shape would reach a delegate mid-ADD, after earlier networks were attached, or crash it.
const SHAPES: Record<string, { check: Check; what: string }> = {
  ips: { check: listOf((v) => typeof v === 'string' && isIPOrCIDR(v)), what: 'a list of IP or CIDR strings' },
  mac: { check: isString, what: 'a string' },
  portMappings: { check: listOf(isObject), what: 'a list of objects' },
  bandwidth: { check: isObject, what: 'an object' },
  dns: { check: isObject, what: 'an object' },
  deviceID: { check: isString, what: 'a string' },
  infinibandGUID: { check: isString, what: 'a string' },
  aliases: { check: listOf(isString), what: 'a list of strings' },
};

/** The runtime's runtimeConfig values for well-known capabilities that have the wrong type (others are not checked). */
export function runtimeConfigProblems(runtimeConfig: unknown): RuntimeConfigProblem[] {
  if (!isObject(runtimeConfig)) return []; // the config schema requires an object
  const rc = runtimeConfig as Record<string, unknown>;
  return Object.entries(SHAPES)
    .filter(([key, { check }]) => rc[key] !== undefined && rc[key] !== null && !check(rc[key])) // null: not set
    .map(([key, { what }]) => ({ pointer: `/runtimeConfig/${key}`, message: `must be ${what}, got ${JSON.stringify(rc[key])}` }));
}
