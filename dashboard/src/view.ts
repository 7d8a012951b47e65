/** What every view receives: the URL state, navigation that keeps it in the URL, and the session. */
import type { Session } from './auth.js';
import { h, type Child } from './dom.js';

export type ViewName = 'overview' | 'trend' | 'controls' | 'control' | 'clusters' | 'cluster' | 'rollouts' | 'exceptions' | 'operations';

export type Params = Readonly<Record<string, string | undefined>>;

export interface ViewContext {
  readonly params: URLSearchParams;
  readonly session: Session;
  /** Changes the URL (view and filters) and renders it. */
  go(params: Params, options?: { readonly replace?: boolean }): void;
  /** Re-renders the current URL (after an action changed data). */
  refresh(): void;
}

export type ViewRender = (ctx: ViewContext) => Promise<Node>;

/**
 * `#view=…&…` for these params (empty values left out). The state lives in the fragment: the page
 * shell is one static resource whatever the view, and the fragment never reaches a server or a log.
 */
export function hrefOf(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  return `#${q.toString()}`;
}

/** The current state: the fragment's parameters. */
export function currentParams(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

let navigate: (params: Params) => void = () => undefined;

export function setNavigator(fn: (params: Params) => void): void {
  navigate = fn;
}

/** A link to another state of the dashboard: a real link (new tab, copy) that navigates in place. */
export function link(params: Params, ...children: Child[]): HTMLAnchorElement {
  return h(
    'a',
    {
      href: hrefOf(params),
      onclick: (e: Event) => {
        const m = e as MouseEvent;
        if (m.ctrlKey || m.metaKey || m.shiftKey || m.button !== 0) return;
        e.preventDefault();
        navigate(params);
      },
    },
    ...children,
  );
}

export function heading(title: string, ...extra: Child[]): HTMLElement {
  return h('header', { class: 'view-header' }, h('h1', { tabindex: -1 }, title), ...extra);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}
