/** Singletons of the customer portal: its router (mounted at /portal) and its session. */
import { api } from '../lib/api/client';
import { Router } from '../lib/router.svelte';
import { Session } from '../lib/session.svelte';

export const router = new Router('/portal');

export const session = new Session({
  me: () => api.get('/api/v1/portal/auth/me', { allowUnauthorized: true }),
  login: (username, password) =>
    api.post('/api/v1/portal/auth/login', { body: { username, password }, allowUnauthorized: true }),
  logout: () => api.post('/api/v1/portal/auth/logout', { allowUnauthorized: true }),
});
