import type { RequestHandler } from 'express';
import { ApiError } from './errors.ts';

/**
 * Refuses a NUL or an unpaired UTF-16 surrogate anywhere in the path (so in every route parameter), the
 * query or a parsed body, before any route sees it. PostgreSQL cannot store either in text (it answered
 * 500), and no field of this API has a use for them. Mounted once after the body parsers, so routes added
 * later are covered without doing anything.
 */
export const refuseUnsafeStrings: RequestHandler = (req, _res, next) => {
  const problem = pathProblem(req.path) ?? findUnsafe(req.query, 'query') ?? findUnsafe(req.body, 'body');
  if (!problem) return next();
  next(new ApiError(400, 'VALIDATION_ERROR', `${problem.path}: ${problem.message}`, { issues: [problem] }));
};

export interface UnsafeString {
  path: string;
  message: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function unsafeReason(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate';
  return null;
}

function pathProblem(path: string): UnsafeString | null {
  for (const segment of path.split('/')) {
    if (!segment.includes('%')) {
      const reason = unsafeReason(segment);
      if (reason) return { path: 'path', message: reason };
      continue;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // %ED%A0%80 and friends: a surrogate (or other bytes) that is not valid UTF-8
      return { path: 'path', message: 'is not valid percent-encoded UTF-8' };
    }
    const reason = unsafeReason(decoded);
    if (reason) return { path: 'path', message: reason };
  }
  return null;
}

/** Walks objects and arrays without recursion (a deeply nested body cannot blow the stack). */
export function findUnsafe(root: unknown, rootPath: string): UnsafeString | null {
  const stack: Array<[unknown, string]> = [[root, rootPath]];
  let visited = 0;
  while (stack.length > 0) {
    const [value, at] = stack.pop()!;
    if (++visited > 1_000_000) return null; // bounded by the body limit long before this
    if (typeof value === 'string') {
      const reason = unsafeReason(value);
      if (reason) return { path: at, message: reason };
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push([value[i], `${at}.${i}`]);
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const reason = unsafeReason(key);
        if (reason) return { path: at, message: `a key ${reason}` };
        stack.push([(value as Record<string, unknown>)[key], `${at}.${key}`]);
      }
    }
  }
  return null;
}
