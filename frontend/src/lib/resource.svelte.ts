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
  #inFlight: AbortController | null = null;

  constructor(fetch: (signal: AbortSignal) => Promise<T>) {
    this.#fetch = fetch;
  }

  /**
   * Starts loading; returns a cleanup function that aborts the request. A new load aborts the one
   * still in flight, so an older answer (e.g. for the previous filter) never overwrites a newer one.
   */
  load(): () => void {
    this.#inFlight?.abort();
    const controller = new AbortController();
    this.#inFlight = controller;
    this.loading = true;
    this.error = null;
    this.#fetch(controller.signal)
      .then((data) => {
        if (!controller.signal.aborted) this.data = data;
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
