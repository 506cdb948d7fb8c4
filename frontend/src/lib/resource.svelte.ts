/**
 * A piece of data fetched from the API, with loading / error state.
 *
 *   const users = new Resource((signal) => api.get('/api/v1/users', { signal }));
 *   $effect(() => users.load());   // aborts on unmount
 */
import { ApiError } from './api/client';

export class Resource<T> {
  data = $state<T | undefined>(undefined);
  loading = $state(false);
  error = $state<ApiError | null>(null);

  readonly #fetch: (signal: AbortSignal) => Promise<T>;

  constructor(fetch: (signal: AbortSignal) => Promise<T>) {
    this.#fetch = fetch;
  }

  /** Starts loading; returns a cleanup function that aborts the request. */
  load(): () => void {
    const controller = new AbortController();
    this.loading = true;
    this.error = null;
    this.#fetch(controller.signal)
      .then((data) => {
        this.data = data;
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        this.error = err instanceof ApiError ? err : new ApiError(0, 'Error', 'Something went wrong.');
      })
      .finally(() => {
        if (!controller.signal.aborted) this.loading = false;
      });
    return () => controller.abort();
  }
}
