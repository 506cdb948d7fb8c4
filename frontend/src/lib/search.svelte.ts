/**
 * A search box backed by the server: the request goes out `delay` ms after the user stops
 * typing, and a newer text aborts the older request.
 *
 *   const search = new Search((term, signal) =>
 *     api.get('/api/v1/customers/search', { query: { q: term }, signal }).then((r) => r.items));
 *   $effect(() => search.run());   // re-runs whenever search.text changes
 */
import { ApiError } from './api/client';

export class Search<T> {
  /** What the user typed (bind the input to it). */
  text = $state('');
  /** Results for `term`, or null before the first search / while the box is empty. */
  results = $state<T[] | null>(null);
  /** The (trimmed) text the current results are for. */
  term = $state('');
  loading = $state(false);
  error = $state<ApiError | null>(null);

  readonly #fetch: (term: string, signal: AbortSignal) => Promise<T[]>;
  readonly #delay: number;

  constructor(fetch: (term: string, signal: AbortSignal) => Promise<T[]>, delay = 250) {
    this.#fetch = fetch;
    this.#delay = delay;
  }

  /** Schedules the search for the current text; returns the cleanup (cancel timer, abort request). */
  run(): () => void {
    const term = this.text.trim();
    if (!term) {
      this.results = null;
      this.term = '';
      this.loading = false;
      this.error = null;
      return () => {};
    }
    const controller = new AbortController();
    this.loading = true;
    const timer = setTimeout(() => {
      this.#fetch(term, controller.signal)
        .then((items) => {
          this.results = items;
          this.term = term;
          this.error = null;
        })
        .catch((err: unknown) => {
          if (controller.signal.aborted) return;
          this.error = err instanceof ApiError ? err : new ApiError(0, 'Error', 'Something went wrong.');
        })
        .finally(() => {
          if (!controller.signal.aborted) this.loading = false;
        });
    }, this.#delay);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }
}
