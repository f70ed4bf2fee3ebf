import validateConfig from '../generated/validate-config.js';

/** One schema violation: a JSON pointer to the field and what is wrong with it. */
export interface SchemaProblem { pointer: string; message: string }

/** Every violation of schemas/config.schema.json in `doc` (the precompiled validator collects them all). */
export function schemaProblems(doc: Record<string, unknown>): SchemaProblem[] {
  if (validateConfig(doc)) return [];
  const errors = validateConfig.errors!;
  // An anyOf failure is reported once, not once per alternative it tried.
  const alternatives = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  return errors.filter((e) => !alternatives.some((a) => e.schemaPath.startsWith(a))).map((e) => {
    const params = e.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
    if (params.missingProperty) return { pointer: `${e.instancePath}/${params.missingProperty}`, message: 'is required' };
    if (params.additionalProperty) return { pointer: `${e.instancePath}/${params.additionalProperty}`, message: 'is not an allowed key here' };
    const message = params.allowedValues ? `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}` : e.message ?? 'is invalid';
    return { pointer: e.instancePath, message };
  });
}

/** A config value braid ignored in favour of its default: where it is and why. */
export interface ConfigWarning { pointer: string; message: string }

/** A pointer's field as braid names it in messages ("/logOptions/maxAge" -> "logOptions.maxAge"). */
export function fieldName(pointer: string): string {
  return pointer ? pointer.slice(1).replace(/\//g, '.') : '(root)';
}
