/**
 * Signed-in user state for one app (staff or customer portal).
 * The session itself lives in the HttpOnly `gridvend_session` cookie; this
 * only mirrors "who am I" for the UI.
 */
import { ApiError, rememberCsrfToken, setUnauthorizedHandler } from './api/client';
import type { Me } from './api/types';

export interface AuthCalls {
  me: () => Promise<Me>;
  login: (username: string, password: string) => Promise<{ user: Me; csrf_token: string }>;
  logout: () => Promise<unknown>;
}

export type SessionStatus = 'loading' | 'ready' | 'error';

export class Session {
  me = $state<Me | null>(null);
  status = $state<SessionStatus>('loading');
  /** Message shown when "who am I" failed for a reason other than 401. */
  error = $state<string | null>(null);
  /** Set when the session ended on its own (expired) rather than by signing out. */
  expired = $state(false);

  readonly #calls: AuthCalls;

  constructor(calls: AuthCalls) {
    this.#calls = calls;
    setUnauthorizedHandler(() => {
      if (this.me) this.expired = true;
      this.me = null;
    });
  }

  get signedIn(): boolean {
    return this.me !== null;
  }

  get roles(): readonly string[] {
    return this.me?.roles ?? [];
  }

  /** Ask the backend who is signed in. */
  async load(): Promise<void> {
    this.status = 'loading';
    this.error = null;
    try {
      this.me = await this.#calls.me();
      this.status = 'ready';
    } catch (err) {
      // 401: nobody signed in. 403: signed in to the other realm (e.g. a
      // customer session opening the staff app): this app sees no user.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.me = null;
        this.status = 'ready';
      } else {
        this.status = 'error';
        this.error = err instanceof ApiError ? err.detail : 'Could not load your session.';
      }
    }
  }

  /** Throws ApiError (401 / 423 / 429 ...) with a user-facing `detail`. */
  async login(username: string, password: string): Promise<Me> {
    const result = await this.#calls.login(username, password);
    rememberCsrfToken(result.csrf_token);
    this.me = result.user;
    this.expired = false;
    this.status = 'ready';
    return result.user;
  }

  async logout(): Promise<void> {
    try {
      await this.#calls.logout();
    } catch (err) {
      // Already signed out on the server: fine. Anything else: still drop local state.
      if (!(err instanceof ApiError)) throw err;
    } finally {
      rememberCsrfToken(null);
      this.me = null;
      this.expired = false;
    }
  }
}
