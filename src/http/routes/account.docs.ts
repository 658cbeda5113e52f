import { z } from 'zod';
import { EXAMPLE_TIME, errors, isoDate } from '../openapi/common.ts';
import { accountSecurity, apiKeyBody, apiKeyExample, newKeyBody, newKeyExample, userBody, userExample, walletBody, walletExample } from '../openapi/account-schemas.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { adminCreateBody, adminCreditBody, adminPatchBody } from './account-admin.ts';
import { createKeyBody } from './account-api-keys.ts';
import { registerBody, signinBody } from './account-auth.ts';

/** OpenAPI documentation of the account core: sign-up, sign-in, API keys, admin accounts (seed 002). */
const auth = 'Account auth';
const admin = 'Admin accounts';
const authErrors = errors({ 401: ['AUTH_REQUIRED', 'INVALID_API_KEY', 'INVALID_TOKEN'], 403: ['INSUFFICIENT_SCOPE', 'ACCOUNT_DISABLED'] });
const adminErrors = errors({ 401: ['ADMIN_KEY_REQUIRED', 'ADMIN_KEY_INVALID'], 403: 'ROLE_REQUIRED' });
const idParam = z.object({ id: z.string() });
const adminView = z.object({ user: userBody, wallet: walletBody, credits: z.array(z.object({ amount: z.number(), amountMicro: z.string(), reason: z.unknown(), grantedBy: z.unknown(), createdAt: isoDate.nullable() })) }).catchall(z.unknown());
const adminExample = { user: userExample, wallet: walletExample, credits: [{ amount: 10, amountMicro: '10000000', reason: 'welcome', grantedBy: 'admin', createdAt: EXAMPLE_TIME }] };

documentRoutes(
  { method: 'post', path: '/v1/auth/register', tag: auth, summary: 'Open an account; answers its first psx_ API key (all scopes, shown once)', body: registerBody, bodyExample: { email: 'user@example.com', password: 'a long password' },
    responses: { 201: { description: 'Registered', schema: z.object({ user: userBody, apiKey: newKeyBody, note: z.string() }), example: { user: userExample, apiKey: newKeyExample, note: 'the API key is shown once' } }, ...errors({ 400: 'VALIDATION_ERROR', 409: 'EMAIL_TAKEN' }) } },
  { method: 'post', path: '/v1/login/signin', tag: auth, summary: 'Sign in: a JWT to send as Authorization: Bearer (every scope)', body: signinBody, bodyExample: { email: 'user@example.com', password: 'a long password' },
    responses: { 200: { description: 'Signed in', schema: z.object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int(), user: z.object({ _id: z.string(), email: z.string(), role: z.string() }) }), example: { access_token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig', token_type: 'Bearer', expires_in: 604800, user: { _id: userExample._id, email: userExample.email, role: 'customer' } } },
      ...errors({ 400: 'VALIDATION_ERROR', 403: ['INVALID_CREDENTIALS', 'ACCOUNT_DISABLED'], 429: 'TOO_MANY_LOGIN_ATTEMPTS' }) } },
  { method: 'get', path: '/v1/account/api-keys', tag: auth, security: accountSecurity, summary: 'The account\'s API keys (never the keys themselves). Scope account:read',
    responses: { 200: { description: 'Keys', schema: z.object({ data: z.array(apiKeyBody), total: z.number().int() }), example: { data: [apiKeyExample], total: 1 } }, ...authErrors } },
  { method: 'post', path: '/v1/account/api-keys', tag: auth, security: accountSecurity, summary: 'Mint a key with a label and scopes (within the caller\'s own). Scope account:write', body: createKeyBody, bodyExample: { label: 'ci', scopes: ['ports:read', 'ports:rotate'] },
    responses: { 201: { description: 'Created (the key is shown once)', schema: newKeyBody, example: { ...newKeyExample, label: 'ci', scopes: ['ports:read', 'ports:rotate'] } }, ...authErrors, ...errors({ 400: 'VALIDATION_ERROR', 409: 'TOO_MANY_API_KEYS' }) } },
  { method: 'delete', path: '/v1/account/api-keys/:id', tag: auth, security: accountSecurity, params: idParam, summary: 'Revoke a key; it is refused from the moment this answers. Scope account:write',
    responses: { 200: { description: 'Revoked', schema: z.object({ message: z.string(), id: z.string() }), example: { message: 'API key revoked', id: apiKeyExample.id } }, ...authErrors, ...errors({ 404: 'API_KEY_NOT_FOUND' }) } },
  { method: 'post', path: '/v1/admin/accounts', tag: admin, security: ['adminKey', 'apiKey', 'bearer'], summary: 'Create an account (optionally with a password and a role); answers its first API key', body: adminCreateBody, bodyExample: { email: 'reseller@example.com', role: 'reseller' },
    responses: { 201: { description: 'Created', schema: adminView.extend({ apiKey: newKeyBody }), example: { ...adminExample, apiKey: newKeyExample } }, ...adminErrors, ...errors({ 400: 'VALIDATION_ERROR', 409: 'EMAIL_TAKEN' }) } },
  { method: 'get', path: '/v1/admin/accounts/:id', tag: admin, security: ['adminKey', 'apiKey', 'bearer'], params: idParam, summary: 'An account with its wallet and recent credits',
    responses: { 200: { description: 'Account', schema: adminView, example: adminExample }, ...adminErrors, ...errors({ 404: 'ACCOUNT_NOT_FOUND' }) } },
  { method: 'patch', path: '/v1/admin/accounts/:id', tag: admin, security: ['adminKey', 'apiKey', 'bearer'], params: idParam, summary: 'Change the role or (de)activate', body: adminPatchBody, bodyExample: { role: 'reseller', isActive: true },
    responses: { 200: { description: 'Updated', schema: adminView, example: adminExample }, ...adminErrors, ...errors({ 400: 'VALIDATION_ERROR', 404: 'ACCOUNT_NOT_FOUND' }) } },
  { method: 'post', path: '/v1/admin/accounts/:id/credits', tag: admin, security: ['adminKey', 'apiKey', 'bearer'], params: idParam, summary: 'Credit the balance in USD (negative corrects, never below zero)', body: adminCreditBody, bodyExample: { amount: 10, reason: 'welcome credit' },
    responses: { 201: { description: 'Credited', schema: adminView, example: adminExample }, ...adminErrors, ...errors({ 400: 'VALIDATION_ERROR', 404: 'ACCOUNT_NOT_FOUND', 409: 'CREDIT_EXCEEDS_BALANCE' }) } },
);
