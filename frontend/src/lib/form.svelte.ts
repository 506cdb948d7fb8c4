/**
 * What the forms of the app share: sending a form with a busy flag and the server's word on
 * what went wrong, and working out which fields an edit changed.
 *
 *   const form = new Submission();
 *   async function submit(event: SubmitEvent) {
 *     event.preventDefault();
 *     await form.run(async () => onsaved(await api.post('/api/v1/things', { body })));
 *   }
 *   // <button disabled={form.busy}>  {#if form.error}<p class="error" role="alert">{form.error}</p>{/if}
 */
import { ApiError } from './api/client';

export class Submission {
  /** True while the request is out (disable the submit button). */
  busy = $state(false);
  /** What to tell the user: the ApiError's detail, a check of the form's own, or ''. */
  error = $state('');

  readonly #fallback: string;

  constructor(fallback = 'Something went wrong.') {
    this.#fallback = fallback;
  }

  /**
   * Clears the error and runs `action` with `busy` set. A failure is shown, never thrown:
   * an ApiError by its detail, anything else by the fallback text. True when it succeeded.
   */
  async run(action: () => Promise<unknown>): Promise<boolean> {
    this.error = '';
    this.busy = true;
    try {
      await action();
      return true;
    } catch (err) {
      this.error = err instanceof ApiError ? err.detail : this.#fallback;
      return false;
    } finally {
      this.busy = false;
    }
  }
}

/**
 * The fields of `after` whose value differs from `before` (what a PATCH sends). A field left
 * undefined in `after` is not compared: it stays as it is.
 */
export function changedFields<U extends object>(before: { [K in keyof U]-?: unknown }, after: U): Partial<U> {
  const changed: Partial<U> = {};
  for (const key of Object.keys(after) as (keyof U)[]) {
    const value = after[key];
    if (value !== undefined && value !== before[key]) changed[key] = value;
  }
  return changed;
}
