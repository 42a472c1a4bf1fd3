import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate, type ValidationError } from 'class-validator';

/** Whether a class carries class-validator rules (so it can serve as a DTO). */
export function isDtoClass(value: unknown): value is Type<object> {
  return (
    typeof value === 'function' &&
    getMetadataStorage().getTargetValidationMetadatas(value, '', true, false).length > 0
  );
}

/** The DTO's fields and their rules, for listing the tool to Python. */
export function describeDto(dto: Type<object>): { properties: Record<string, string[]> } {
  const properties: Record<string, string[]> = {};
  for (const rule of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
    (properties[rule.propertyName] ??= []).push(rule.name ?? rule.type);
  }
  return { properties };
}

/** Validates `args` against the DTO; resolves with the DTO instance, or with the problems. */
export async function validateDto(
  dto: Type<object>,
  args: Record<string, unknown>,
): Promise<{ ok: true; value: object } | { ok: false; problems: string[] }> {
  const instance = plainToInstance(dto, args);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length === 0) return { ok: true, value: instance };
  return { ok: false, problems: errors.flatMap((error) => problemsOf(error, '')) };
}

function problemsOf(error: ValidationError, parent: string): string[] {
  const path = parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) =>
    message === `property ${error.property} should not exist` ? `${path} is not a known argument` : message.replace(error.property, path),
  );
  return [...own, ...(error.children ?? []).flatMap((child) => problemsOf(child, path))];
}
