import type { ValidationError } from 'class-validator';

/**
 * class-validator's errors as one line per problem, each naming the field's full path
 * (`pools[1].restart.backoffMs must not be less than 0`). A field the class does not declare is
 * "`path` is not a known `what`".
 */
export function validationProblems(errors: ValidationError[], what: string, parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = !parent ? error.property : /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : `${parent}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      message === `property ${error.property} should not exist`
        ? `${path} is not a known ${what}`
        : message.startsWith(error.property) ? `${path}${message.slice(error.property.length)}` : `${path}: ${message}`,
    );
    return [...own, ...validationProblems(error.children ?? [], what, path)];
  });
}
