import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate } from 'class-validator';
import { validationProblems } from '../validation/validation-problems';
import { dtoSchema, type Schema } from './dto-schema';

/** Whether a class carries class-validator rules (so it can serve as a DTO). */
export function isDtoClass(value: unknown): value is Type<object> {
  return (
    typeof value === 'function' &&
    getMetadataStorage().getTargetValidationMetadatas(value, '', true, false).length > 0
  );
}

/** The DTO as JSON Schema, for listing the tool to Python (see dtoSchema). */
export function describeDto(dto: Type<object>): Schema {
  return dtoSchema(dto);
}

/** Validates `args` against the DTO; resolves with the DTO instance, or with the problems. */
export async function validateDto(
  dto: Type<object>,
  args: Record<string, unknown>,
): Promise<{ ok: true; value: object } | { ok: false; problems: string[] }> {
  const instance = plainToInstance(dto, args);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length === 0) return { ok: true, value: instance };
  return { ok: false, problems: validationProblems(errors, 'argument') };
}
