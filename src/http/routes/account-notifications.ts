import { Router, type Request } from 'express';
import { z } from 'zod';
import { countUnread, findNotification, listNotifications, type NotificationRow } from '../../../projections/account-notifications.ts';
import { runAccountCommand, type AccountsContext } from '../../accounts/context.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { iso } from '../account-views.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';

export const notificationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(100_000).optional(),
  page: z.coerce.number().int().min(1).max(100_000).optional(),
  unreadOnly: z.enum(['true', 'false']).default('false'),
});
const notificationIdParam = z.string().regex(/^[a-f0-9]{24}$/, 'is not a notification id');
const READ_MODELS = ['account-notifications'] as const;

/** The MCP server's Notification object (type = severity, category = area), plus our `kind`. */
export const notificationView = (n: NotificationRow) => ({
  _id: n.notification_id, id: n.notification_id, userId: n.account_id, type: n.severity, category: n.category, kind: n.kind,
  title: n.title, message: n.message, isRead: n.read_at !== null, readAt: iso(n.read_at),
  ...(n.entity_type ? { entityType: n.entity_type, entityId: n.entity_id } : {}), metadata: n.metadata, createdAt: iso(n.created_at),
});

/** GET /v1/account/notifications (paged), PUT /:id/read, PUT /read-all, DELETE /:id: reads and deletes are events on the account stream. */
export function accountNotificationsRouter(ctx: AccountsContext): Router {
  const router = Router();
  const db = ctx.infra.database.db;
  router.use('/v1/account/notifications', authenticate(ctx));
  const origin = (req: Request) => ({ actor: `account:${principalOf(req).accountId}`, correlationId: req.id });
  const mine = async (req: Request) => {
    const id = parse(notificationIdParam, req.params.id);
    const n = await findNotification(db, principalOf(req).accountId, id);
    if (!n) throw new ApiError(404, 'NOTIFICATION_NOT_FOUND', `no notification ${id} on this account`);
    return n;
  };

  router.get('/v1/account/notifications', requireScope('account:read'), async (req, res) => {
    const q = parse(notificationsQuery, req.query);
    const offset = q.offset ?? ((q.page ?? 1) - 1) * q.limit;
    const { rows, total, unread } = await listNotifications(db, principalOf(req).accountId, { limit: q.limit, offset, unreadOnly: q.unreadOnly === 'true' });
    res.json({ data: rows.map(notificationView), total, unread, page: Math.floor(offset / q.limit) + 1, limit: q.limit, offset, totalPages: Math.ceil(total / q.limit) });
  });

  router.put('/v1/account/notifications/read-all', requireScope('account:write'), async (req, res) => {
    const accountId = principalOf(req).accountId;
    const count = await countUnread(db, accountId);
    if (count > 0) await runAccountCommand(ctx, accountId, { type: 'MarkNotificationsRead', data: { notificationIds: [], all: true } }, origin(req), READ_MODELS);
    res.json({ count, message: `${count} notification${count === 1 ? '' : 's'} marked as read` });
  });

  router.put('/v1/account/notifications/:id/read', requireScope('account:write'), async (req, res) => {
    const n = await mine(req);
    if (n.read_at === null) await runAccountCommand(ctx, n.account_id, { type: 'MarkNotificationsRead', data: { notificationIds: [n.notification_id], all: false } }, origin(req), READ_MODELS);
    res.json(notificationView((await findNotification(db, n.account_id, n.notification_id))!));
  });

  router.delete('/v1/account/notifications/:id', requireScope('account:write'), async (req, res) => {
    const n = await mine(req);
    await runAccountCommand(ctx, n.account_id, { type: 'DeleteNotification', data: { notificationId: n.notification_id } }, origin(req), READ_MODELS);
    res.json({ message: 'Notification deleted', id: n.notification_id });
  });

  return router;
}
