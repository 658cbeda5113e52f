import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'proxies-marketplace' }, redact: ['req.headers["x-admin-key"]', 'req.headers.authorization'] });
}
