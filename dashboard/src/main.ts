/**
 * The dashboard's entry: sign-in, the navigation, and the view named in the URL (`?view=…` plus its
 * filters, so every state is a shareable link). Views other than the overview load on demand.
 */
import './styles.css';
import { ApiFailure, MissingRole, useSession } from './api.js';
import { SignInRequired, signInAgain, startAuth, type Session } from './auth.js';
import { clear, h } from './dom.js';
import { currentParams, hrefOf, link, setNavigator, type Params, type ViewContext, type ViewName, type ViewRender } from './view.js';
import { renderOverview } from './views/overview.js';

const OVERVIEW = { title: 'Overview', nav: 'Overview', load: async () => renderOverview };
const VIEWS: Readonly<Partial<Record<ViewName, { readonly title: string; readonly nav: string; load(): Promise<ViewRender> }>>> = {
  overview: OVERVIEW,
  trend: { title: 'Trend', nav: 'Trend', load: async () => (await import('./views/trend.js')).renderTrend },
  controls: { title: 'Controls', nav: 'Controls', load: async () => (await import('./views/controls.js')).renderControls },
  control: { title: 'Control', nav: 'Controls', load: async () => (await import('./views/control.js')).renderControl },
  rollouts: { title: 'Rollouts', nav: 'Rollouts', load: async () => (await import('./views/rollouts.js')).renderRollouts },
  exceptions: { title: 'Exceptions', nav: 'Exceptions', load: async () => (await import('./views/exceptions.js')).renderExceptions },
  operations: { title: 'Operations', nav: 'Operations', load: async () => (await import('./views/operations.js')).renderOperations },
  clusters: { title: 'Clusters', nav: 'Clusters', load: async () => (await import('./views/clusters.js')).renderClusters },
  cluster: { title: 'Cluster', nav: 'Clusters', load: async () => (await import('./views/cluster.js')).renderCluster },
};
const NAV: readonly ViewName[] = (['overview', 'trend', 'controls', 'clusters', 'rollouts', 'exceptions', 'operations'] as const).filter((v) => VIEWS[v] !== undefined);

const app = document.getElementById('app') as HTMLElement;

type ViewSpec = { readonly title: string; readonly nav: string; load(): Promise<ViewRender> };

function viewOf(params: URLSearchParams): [ViewName, ViewSpec] {
  const v = params.get('view') ?? 'overview';
  const spec = Object.hasOwn(VIEWS, v) ? VIEWS[v as ViewName] : undefined;
  return spec !== undefined ? [v as ViewName, spec] : ['overview', OVERVIEW];
}

function signInScreen(message: string | undefined, signIn: () => Promise<void>): HTMLElement {
  return h(
    'main',
    { class: 'sign-in', id: 'main' },
    h('h1', {}, 'arc-compliance posture'),
    message !== undefined ? h('p', { role: 'alert', class: 'notice' }, message) : null,
    h('p', {}, 'Sign in with your organisation account. What you see depends on the app roles you hold.'),
    h('button', { type: 'button', class: 'primary', onclick: () => void signIn() }, 'Sign in'),
  );
}

function problemPanel(error: unknown): HTMLElement {
  if (error instanceof MissingRole) {
    return h('div', { class: 'problem', role: 'alert' }, h('h2', {}, 'Not allowed'), h('p', {}, 'This view needs the app role ', h('code', {}, error.role), '. Ask an administrator to assign it to you.'));
  }
  if (error instanceof ApiFailure) {
    return h(
      'div',
      { class: 'problem', role: 'alert' },
      h('h2', {}, `The API answered ${error.status} ${error.code}`),
      h('p', {}, error.message),
      error.requestId !== null ? h('p', {}, 'Request id: ', h('code', {}, error.requestId)) : null,
    );
  }
  return h('div', { class: 'problem', role: 'alert' }, h('h2', {}, 'Something went wrong'), h('p', {}, error instanceof Error ? error.message : String(error)));
}

function shell(session: Session): { readonly main: HTMLElement; readonly nav: HTMLElement } {
  const nav = h('nav', { 'aria-label': 'Views' });
  const main = h('main', { id: 'main', tabindex: -1 });
  clear(app);
  app.append(
    h(
      'a',
      {
        href: '#main',
        class: 'skip-link',
        onclick: (e: Event) => {
          // The fragment holds the view state: focus the content without changing it.
          e.preventDefault();
          main.focus();
        },
      },
      'Skip to content',
    ),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'arc-compliance'),
      nav,
      h(
        'div',
        { class: 'user' },
        h('span', { class: 'who' }, session.name),
        h('span', { class: 'roles', title: 'Your app roles' }, session.roles().join(', ') || 'no app roles'),
        h('button', { type: 'button', class: 'link-button', onclick: () => void session.signOut() }, 'Sign out'),
      ),
    ),
    main,
  );
  return { main, nav };
}

function renderNav(nav: HTMLElement, current: ViewSpec): void {
  clear(nav);
  nav.append(
    h(
      'ul',
      {},
      NAV.map((v) => {
        const label = VIEWS[v]?.nav ?? v;
        const a = link({ view: v }, label);
        if (current.nav === label) a.setAttribute('aria-current', 'page');
        return h('li', {}, a);
      }),
    ),
  );
}

async function boot(): Promise<void> {
  const auth = await startAuth();
  if (auth.kind === 'not-configured') {
    clear(app);
    app.append(
      h(
        'main',
        { class: 'sign-in', id: 'main' },
        h('h1', {}, 'arc-compliance posture'),
        h('p', { role: 'alert', class: 'notice' }, 'Sign-in is not configured: set DASHBOARD_CLIENT_ID to the client id of the app registration (docs/dashboard.md).'),
      ),
    );
    return;
  }
  if (auth.kind === 'signed-out') {
    clear(app);
    app.append(signInScreen(auth.problem, auth.signIn));
    return;
  }
  const session = auth.session;
  useSession(session);
  const { main, nav } = shell(session);
  let generation = 0;
  let first = true;

  const render = async (): Promise<void> => {
    const mine = ++generation;
    const params = currentParams();
    const [name, spec] = viewOf(params);
    renderNav(nav, spec);
    document.title = `${spec.title} · arc-compliance`;
    main.setAttribute('aria-busy', 'true');
    const ctx: ViewContext = { params, session, go, refresh: () => void render() };
    let content: Node;
    try {
      content = await (await spec.load())(ctx);
    } catch (error) {
      if (error instanceof SignInRequired) {
        clear(app);
        app.append(signInScreen(`${error.reason} Sign in again to continue.`, signInAgain));
        return;
      }
      content = problemPanel(error);
    }
    if (mine !== generation) return;
    clear(main);
    main.append(content);
    main.removeAttribute('aria-busy');
    main.dataset['view'] = name;
    main.dataset['ready'] = String(mine);
    if (!first) (main.querySelector('h1') ?? main).focus();
    first = false;
  };

  function go(params: Params, options: { readonly replace?: boolean } = {}): void {
    const url = `${location.pathname}${location.search}${hrefOf(params)}`;
    if (options.replace === true) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    void render();
  }
  setNavigator((p) => go(p));
  window.addEventListener('popstate', () => void render());
  // A fragment typed or pasted into the address bar (pushState above fires neither event).
  window.addEventListener('hashchange', () => void render());
  await render();
}

boot().catch((error: unknown) => {
  clear(app);
  app.append(problemPanel(error));
});
