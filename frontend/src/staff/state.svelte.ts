/** Singletons of the staff app: its router (mounted at /staff) and its session. */
import { api } from '../lib/api/client';
import { Router } from '../lib/router.svelte';
import { Session } from '../lib/session.svelte';

export const router = new Router('/staff');

export const session = new Session({
  me: () => api.get('/api/v1/auth/me', { allowUnauthorized: true }),
  login: (username, password) =>
    api.post('/api/v1/auth/login', { body: { username, password }, allowUnauthorized: true }),
  logout: () => api.post('/api/v1/auth/logout', { allowUnauthorized: true }),
});
