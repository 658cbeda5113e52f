import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { DomainError, type DomainErrorKind } from '../../domain/shared/errors.ts';
import { PaymentRejectedError } from '../x402/context.ts';

/**
 * One error shape for the whole JSON API (the pool API's, from seed 003):
 *   { "error": { "code": "DEVICE_NOT_FOUND", "message": "…", "details": {} }, "requestId": "…", "statusCode": 404, "message": "…" }
 * The gateway answers in its own plain-text shape (`CODE: message (req: id)`).
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

const statusOf: Record<DomainErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  rate_limited: 429,
  unauthorized: 401,
  payment_required: 402,
  unprocessable: 422,
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof PaymentRejectedError) {
    const r = error.rejection;
    return new ApiError(r.status, r.code, r.message, r.details);
  }
  if (error instanceof DomainError) return new ApiError(statusOf[error.kind], error.code, error.message, error.details);
  if (error instanceof ZodError) {
    const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    return new ApiError(400, 'VALIDATION_ERROR', message, { issues });
  }
  const e = error as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return new ApiError(400, 'INVALID_JSON', 'request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'request body is too large');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, 'BAD_REQUEST', e.message ?? 'bad request');
  return new ApiError(500, 'INTERNAL', 'unexpected error; quote the request id to support');
}

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const apiError = toApiError(error);
  // unexpected failures are errors; a rule that said "unavailable" (NO_STOCK…) is the answer working as meant
  if (apiError.status >= 500 && apiError.code === 'INTERNAL') req.log?.error({ err: error }, 'request failed');
  else if (apiError.status >= 500) req.log?.warn({ code: apiError.code }, 'request refused: unavailable');
  if (apiError.status === 429 && typeof apiError.details.retryAfterSeconds === 'number') res.setHeader('Retry-After', String(apiError.details.retryAfterSeconds));
  res.status(apiError.status).json(errorBody(apiError, req.id));
};

/** The body of every JSON API error, also of Node's own answers (answerClientError). */
function errorBody({ status, code, message, details }: ApiError, requestId: string): object {
  return {
    error: { code, message, details },
    requestId,
    // NestJS-style top-level fields: clients written against the original API (the official MCP server) show `message`
    statusCode: status, message,
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

/**
 * Node's own answers to requests it cannot parse (headers over the size limit → 431, malformed → 400)
 * in the one JSON error shape, instead of an empty body. Install with `server.on('clientError', …)`.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'HEADERS_TOO_LARGE', 'request headers are too large (too many, or too long)']
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request did not arrive in time']
      : [400, 'BAD_REQUEST', 'the request is not valid HTTP'];
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(new ApiError(status, code, message), requestId));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
}
