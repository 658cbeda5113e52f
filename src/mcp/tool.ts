import type { z } from 'zod';

/** One MCP tool: a zod input shape, and an answer as text (for the model) plus structured content. */
export interface Tool<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  description: string;
  input: S;
  run(args: z.infer<z.ZodObject<S>>): Promise<{ text: string; data: Record<string, unknown> }>;
}

export const tool = <S extends z.ZodRawShape>(t: Tool<S>): Tool => t as unknown as Tool;

export const lines = (...parts: Array<string | false | null | undefined>) => parts.filter((p) => p !== false && p !== null && p !== undefined).join('\n');
