/**
 * Minimal history-API router for an app mounted under a base path
 * (e.g. "/staff"). App routes are base-relative ("/", "/login", "/admin/users").
 * The backend serves index.html for every /<base>/... URL, so deep links work.
 *
 * Plain <a href="/staff/customers"> links are intercepted (no full reload);
 * use `router.href('/customers')` to build them.
 */

export interface NavigateOptions {
  replace?: boolean;
}

function normalise(path: string): string {
  let p = path || '/';
  if (!p.startsWith('/')) p = `/${p}`;
  if (p.length > 1 && p.endsWith('/')) p = p.replace(/\/+$/, '');
  return p || '/';
}

export class Router {
  readonly base: string;
  /** Base-relative path, always starting with "/", without trailing slash. */
  path = $state('/');
  /** Query string including "?", or "". */
  search = $state('');

  constructor(base: string) {
    this.base = base.replace(/\/+$/, '');
    this.sync();
    window.addEventListener('popstate', () => this.sync());
    document.addEventListener('click', (event) => this.onClick(event));
  }

  /** Full URL path for an app route. */
  href(to: string): string {
    const [p = '/', rest = ''] = splitQuery(to);
    const full = p === '/' ? `${this.base}/` : `${this.base}${normalise(p)}`;
    return full + rest;
  }

  /** The current app route incl. query, e.g. "/customers?page=2". */
  get current(): string {
    return this.path + this.search;
  }

  /** Query parameter of the current URL. */
  param(name: string): string | null {
    return new URLSearchParams(this.search).get(name);
  }

  navigate(to: string, opts: NavigateOptions = {}): void {
    const url = this.href(to);
    if (url === window.location.pathname + window.location.search) return;
    if (opts.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    this.sync();
    if (!opts.replace) window.scrollTo(0, 0);
  }

  private sync(): void {
    const { pathname, search } = window.location;
    let rel = pathname;
    if (rel === this.base || rel.startsWith(`${this.base}/`)) rel = rel.slice(this.base.length);
    this.path = normalise(rel);
    this.search = search;
  }

  private onClick(event: MouseEvent): void {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || !anchor.href) return;
    if (anchor.target && anchor.target !== '_self') return;
    if (anchor.hasAttribute('download') || anchor.dataset.reload !== undefined) return;
    const url = new URL(anchor.href);
    if (url.origin !== window.location.origin) return;
    // In-page anchors (e.g. the skip link) are left to the browser.
    if (url.hash && url.pathname === window.location.pathname && url.search === window.location.search) return;
    if (url.pathname !== this.base && !url.pathname.startsWith(`${this.base}/`)) return;
    event.preventDefault();
    this.navigate(url.pathname.slice(this.base.length) + url.search);
  }
}

function splitQuery(to: string): [string, string] {
  const i = to.search(/[?#]/);
  return i < 0 ? [to, ''] : [to.slice(0, i), to.slice(i)];
}

/** A post-login redirect target is only honoured if it is an app-relative path. */
export function safeNext(next: string | null, fallback = '/'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  if (next === '/login' || next.startsWith('/login?')) return fallback;
  return next;
}
