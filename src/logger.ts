import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Logs never carry query parameters or event data. Redaction happens here, at the logger, so no call site
 * can forget it: URLs lose their query string, errors keep only what says what went wrong (a database
 * error's `params`, `query`, `detail`… held whole events, modem credentials included), and the fields
 * that hold data or secrets are censored wherever they appear.
 */
export const REDACTED_PATHS = [
  'req.headers["x-admin-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-session-token"]',
  'req.headers["payment-signature"]', 'req.headers["x-payment"]', 'req.headers.cookie',
  'data', '*.data', 'params', '*.params', 'query', '*.query', 'body', '*.body',
  'password', '*.password', 'upstream', '*.upstream', 'resetUrl', '*.resetUrl', 'token', '*.token',
];

/** A URL or path without its query string (where tokens and order details travel). */
export function withoutQuery(url: unknown): unknown {
  if (typeof url !== 'string') return url;
  const i = url.indexOf('?');
  return i < 0 ? url : `${url.slice(0, i)}?[query redacted]`;
}

const ERROR_FIELDS = ['code', 'errno', 'syscall', 'routine', 'severity', 'status', 'statusCode', 'kind'] as const;

/** An error as a log may show it: type, message, stack, a few codes; its cause the same way. Nothing else. */
export function safeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? { message: error } : { type: typeof error };
  const out: Record<string, unknown> = { type: error.constructor?.name ?? 'Error', message: error.message, stack: error.stack };
  for (const field of ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (typeof value === 'string' || typeof value === 'number') out[field] = value;
  }
  if (error.cause !== undefined && depth < 3) out.cause = safeError(error.cause, depth + 1);
  if (error instanceof AggregateError && depth < 3) out.errors = error.errors.slice(0, 5).map((e) => safeError(e, depth + 1));
  return out;
}

export const logSerializers = { err: safeError, error: safeError, url: withoutQuery, path: withoutQuery };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'proxies-marketplace' }, redact: REDACTED_PATHS, serializers: logSerializers };
  return destination ? pino(options, destination) : pino(options);
}
