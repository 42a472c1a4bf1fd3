import type { Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/** A JSON Schema (draft 2020-12) document or fragment. */
export type Schema = Record<string, unknown>;

const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** What each class-validator rule says, as JSON Schema keywords on the value it checks. */
const RULES: Record<string, (constraints: unknown[]) => Schema> = {
  isString: () => ({ type: 'string' }),
  isInt: () => ({ type: 'integer' }),
  isNumber: () => ({ type: 'number' }),
  isNumberString: () => ({ type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' }),
  isBoolean: () => ({ type: 'boolean' }),
  isArray: () => ({ type: 'array' }),
  isObject: () => ({ type: 'object' }),
  isDate: () => ({ type: 'string', format: 'date-time' }),
  isDateString: () => ({ type: 'string', format: 'date-time' }),
  isISO8601: () => ({ type: 'string', format: 'date-time' }),
  isEmail: () => ({ type: 'string', format: 'email' }),
  isUrl: () => ({ type: 'string', format: 'uri' }),
  isUUID: () => ({ type: 'string', format: 'uuid' }),
  isPositive: () => ({ exclusiveMinimum: 0 }),
  isNegative: () => ({ exclusiveMaximum: 0 }),
  min: ([value]) => ({ minimum: value }),
  max: ([value]) => ({ maximum: value }),
  minLength: ([value]) => ({ minLength: value }),
  maxLength: ([value]) => ({ maxLength: value }),
  length: ([min, max]) => ({ minLength: min, ...(max !== undefined ? { maxLength: max } : {}) }),
  isNotEmpty: () => ({ not: { enum: ['', null] } }),
  matches: ([pattern]) => ({ pattern: pattern instanceof RegExp ? pattern.source : String(pattern) }),
  isIn: ([values]) => ({ enum: values }),
  isEnum: ([entity]) => ({ enum: enumValues(entity) }),
  equals: ([value]) => ({ const: value }),
  arrayMinSize: ([value]) => ({ minItems: value }),
  arrayMaxSize: ([value]) => ({ maxItems: value }),
  arrayNotEmpty: () => ({ minItems: 1 }),
  arrayUnique: () => ({ uniqueItems: true }),
};

/** Rules that hold of the array itself even with `each: true`. */
const ARRAY_RULES = new Set(['isArray', 'arrayMinSize', 'arrayMaxSize', 'arrayNotEmpty', 'arrayUnique']);

/** The property types TypeScript records (`design:type`) when no rule names one. */
const DESIGN_TYPES = new Map<unknown, Schema>([
  [String, { type: 'string' }],
  [Number, { type: 'number' }],
  [Boolean, { type: 'boolean' }],
  [Array, { type: 'array' }],
  [Date, { type: 'string', format: 'date-time' }],
]);

/**
 * A class-validator DTO as JSON Schema (2020-12): one property per validated field, from its
 * rules (`@IsInt()` → integer, `@Min(1)` → minimum, `@IsIn([...])` → enum, `each: true` → the
 * items of an array, …), `required` for the fields without `@IsOptional()`, and no properties
 * besides (the host validates with forbidNonWhitelisted). Nested DTOs (`@ValidateNested()` with
 * their class as the field's type) go into `$defs`. Rules with no JSON Schema counterpart add a
 * `description` naming them, so nothing is claimed that the schema does not check.
 */
export function dtoSchema(dto: Type<object>): Schema {
  const defs: Record<string, Schema> = {};
  const root = objectSchema(dto, defs, new Set());
  return { $schema: DIALECT, ...root, ...(Object.keys(defs).length ? { $defs: defs } : {}) };
}

function objectSchema(dto: Type<object>, defs: Record<string, Schema>, seen: Set<Type<object>>): Schema {
  seen.add(dto);
  const rules = new Map<string, ValidationMetadata[]>();
  for (const rule of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
    const list = rules.get(rule.propertyName) ?? [];
    list.push(rule);
    rules.set(rule.propertyName, list);
  }
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [name, list] of [...rules.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    properties[name] = propertySchema(dto, name, list, defs, seen);
    if (!list.some((rule) => rule.type === 'conditionalValidation' && rule.name === 'isOptional')) required.push(name);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

function propertySchema(dto: Type<object>, name: string, rules: ValidationMetadata[], defs: Record<string, Schema>, seen: Set<Type<object>>): Schema {
  const own: Schema = {};
  const items: Schema = {};
  const unmapped: string[] = [];
  for (const rule of rules) {
    if (rule.type === 'conditionalValidation' || rule.type === 'whitelistValidation') continue;
    if (rule.type === 'nestedValidation') {
      const nested = nestedSchema(dto, name, defs, seen);
      Object.assign(rule.each ? items : own, nested);
      continue;
    }
    const map = rule.name ? RULES[rule.name] : undefined;
    if (!map) {
      unmapped.push(rule.name ?? rule.type);
      continue;
    }
    const keywords = map(rule.constraints ?? []);
    Object.assign(rule.each && !ARRAY_RULES.has(rule.name!) ? items : own, keywords);
  }
  if (Object.keys(items).length) Object.assign(own, { type: 'array', items });
  if (own.type === undefined && own.$ref === undefined && own.enum === undefined && own.const === undefined) {
    const design = DESIGN_TYPES.get(Reflect.getMetadata?.('design:type', dto.prototype, name));
    if (design) Object.assign(own, design, own);
  }
  if (unmapped.length) own.description = `also checked on the host: ${unmapped.join(', ')}`;
  return own;
}

/** A nested DTO (its class from `design:type`) as a `$ref` into `$defs`. */
function nestedSchema(dto: Type<object>, name: string, defs: Record<string, Schema>, seen: Set<Type<object>>): Schema {
  const type = Reflect.getMetadata?.('design:type', dto.prototype, name) as Type<object> | undefined;
  if (typeof type !== 'function' || type === Array || type === Object) return { type: 'object' };
  if (!seen.has(type)) defs[type.name] = objectSchema(type, defs, seen);
  return { $ref: `#/$defs/${type.name}` };
}

function enumValues(entity: unknown): unknown[] {
  if (typeof entity !== 'object' || entity === null) return [];
  // A numeric TypeScript enum maps both ways: its values are the numbers, not the reverse names.
  const values = Object.entries(entity).filter(([key]) => !/^\d+$/.test(key)).map(([, value]) => value);
  return [...new Set(values)];
}
