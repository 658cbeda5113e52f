import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

/** Every request gets an id (the caller's X-Request-Id when sane), echoed back and in every log line. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.header('x-request-id');
    req.id = given && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    req.log = logger.child({ reqId: req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      req.log.info({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
    });
    next();
  };
}
