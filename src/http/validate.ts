import type { z } from 'zod';

/** Parses or throws the ZodError the error handler turns into a 400 VALIDATION_ERROR. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  return schema.parse(value);
}
