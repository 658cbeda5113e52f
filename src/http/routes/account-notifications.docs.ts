import { z } from 'zod';
import { EXAMPLE_TIME, errors } from '../openapi/common.ts';
import { accountSecurity } from '../openapi/account-schemas.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { notificationsQuery } from './account-notifications.ts';

/** OpenAPI documentation of the account notifications (seed 002, in the official MCP server's shape). */
const tag = 'Account';
const authErrors = errors({ 401: ['AUTH_REQUIRED', 'INVALID_API_KEY', 'INVALID_TOKEN'], 403: ['INSUFFICIENT_SCOPE', 'ACCOUNT_DISABLED'] });
const notification = z.object({
  _id: z.string(), id: z.string(), userId: z.string(), type: z.enum(['info', 'warning', 'success', 'error']), category: z.enum(['port', 'billing', 'account', 'system']),
  kind: z.enum(['low_traffic', 'traffic_exhausted', 'expiring_slots', 'port_offline', 'port_online']), title: z.string(), message: z.string(),
  isRead: z.boolean(), readAt: z.string().nullable(), entityType: z.enum(['Port', 'Purchase']).optional(), entityId: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()), createdAt: z.string(),
});
const example = {
  _id: '5f0c0ffee0c0ffee0c0ffee0', id: '5f0c0ffee0c0ffee0c0ffee0', userId: '6935a45d04523391208cc33c', type: 'error', category: 'port', kind: 'port_offline',
  title: 'Proxy #1 is offline', message: 'The device behind Proxy #1 went offline; rotate or reconfigure the port to move it to another device',
  isRead: false, readAt: null, entityType: 'Port', entityId: '6935a7065cb903907b750c64', metadata: { deviceId: 'dev1', portId: '6935a7065cb903907b750c64' }, createdAt: EXAMPLE_TIME,
};
const idParam = z.object({ id: z.string() });
const notFound = errors({ 400: 'VALIDATION_ERROR', 404: 'NOTIFICATION_NOT_FOUND' });

documentRoutes(
  { method: 'get', path: '/v1/account/notifications', tag, security: accountSecurity, query: notificationsQuery,
    summary: 'Notifications raised by events (low traffic, traffic exhausted, expiring slots, port offline/online), newest first, paged. Scope account:read',
    responses: { 200: { description: 'A page', schema: z.object({ data: z.array(notification), total: z.number().int(), unread: z.number().int(), page: z.number().int(), limit: z.number().int(), offset: z.number().int(), totalPages: z.number().int() }), example: { data: [example], total: 1, unread: 1, page: 1, limit: 20, offset: 0, totalPages: 1 } }, ...authErrors, ...errors({ 400: 'VALIDATION_ERROR' }) } },
  { method: 'put', path: '/v1/account/notifications/read-all', tag, security: accountSecurity, summary: 'Mark every notification read (an event on the account stream). Scope account:write',
    responses: { 200: { description: 'Marked', schema: z.object({ count: z.number().int(), message: z.string() }), example: { count: 3, message: '3 notifications marked as read' } }, ...authErrors } },
  { method: 'put', path: '/v1/account/notifications/:id/read', tag, security: accountSecurity, params: idParam, summary: 'Mark one notification read. Scope account:write',
    responses: { 200: { description: 'The notification', schema: notification, example: { ...example, isRead: true, readAt: EXAMPLE_TIME } }, ...authErrors, ...notFound } },
  { method: 'delete', path: '/v1/account/notifications/:id', tag, security: accountSecurity, params: idParam, summary: 'Delete a notification (it is never raised again). Scope account:write',
    responses: { 200: { description: 'Deleted', schema: z.object({ message: z.string(), id: z.string() }), example: { message: 'Notification deleted', id: example.id } }, ...authErrors, ...notFound } },
);
