/**
 * Sign-in, the same code path in Azure and locally: `@azure/msal-browser` with the authorization code
 * flow and PKCE against the issuer the API trusts (Entra ID, or the local issuer of `npm start`). The
 * settings come from the page's `<meta name="arc-dashboard-sign-in">` (client id, authority, scope).
 *
 * Tokens are renewed silently from MSAL's cache and refresh token only (never a hidden iframe, which
 * the page's CSP forbids); when that fails the person is sent back to sign-in.
 */
import { CacheLookupPolicy, PublicClientApplication, type AccountInfo } from '@azure/msal-browser';

export interface SignInConfig {
  readonly clientId: string;
  readonly authority: string;
  readonly knownAuthority: string;
  readonly scope: string;
}

export interface Session {
  readonly account: AccountInfo;
  /** Display name of the signed-in person. */
  readonly name: string;
  /** App roles of the current access token. */
  roles(): readonly string[];
  /** An access token for the API; throws {@link SignInRequired} when only sign-in can get one. */
  token(): Promise<string>;
  signOut(): Promise<void>;
}

export class SignInRequired extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SignInRequired';
  }
}

export type AuthState =
  | { readonly kind: 'signed-in'; readonly session: Session }
  | { readonly kind: 'signed-out'; signIn(): Promise<void>; readonly problem?: string }
  | { readonly kind: 'not-configured' };

export const DASHBOARD_PATH = '/api/dashboard';

export function readSignInConfig(): SignInConfig | undefined {
  const raw = document.querySelector('meta[name="arc-dashboard-sign-in"]')?.getAttribute('content');
  if (raw === null || raw === undefined) return undefined;
  try {
    const c = JSON.parse(raw) as Partial<SignInConfig>;
    if (typeof c.clientId === 'string' && typeof c.authority === 'string' && typeof c.knownAuthority === 'string' && typeof c.scope === 'string') {
      return { clientId: c.clientId, authority: c.authority, knownAuthority: c.knownAuthority, scope: c.scope };
    }
  } catch {
    // An unreadable config is treated as none.
  }
  return undefined;
}

function rolesOf(accessToken: string): string[] {
  try {
    const payload = accessToken.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const roles = (JSON.parse(json) as { roles?: unknown }).roles;
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/** Only our own page may be returned to after sign-in (the state round-trips through the issuer). */
function safeReturnPath(state: string | undefined): string | undefined {
  if (state === undefined || !(state === DASHBOARD_PATH || state.startsWith(`${DASHBOARD_PATH}#`))) return undefined;
  return state;
}

export async function startAuth(): Promise<AuthState> {
  const config = readSignInConfig();
  if (config === undefined) return { kind: 'not-configured' };
  const redirectUri = `${location.origin}${DASHBOARD_PATH}`;
  const msal = new PublicClientApplication({
    auth: { clientId: config.clientId, authority: config.authority, knownAuthorities: [config.knownAuthority], redirectUri, postLogoutRedirectUri: redirectUri },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await msal.initialize();
  const signIn = async (): Promise<void> => {
    await msal.loginRedirect({ scopes: [config.scope], state: `${DASHBOARD_PATH}${location.hash}`, prompt: 'select_account' });
  };
  let problem: string | undefined;
  try {
    const result = await msal.handleRedirectPromise({ navigateToLoginRequestUrl: false });
    if (result !== null) {
      msal.setActiveAccount(result.account);
      const back = safeReturnPath(result.state);
      history.replaceState(null, '', back ?? DASHBOARD_PATH);
    }
  } catch (error) {
    problem = `Sign-in did not complete: ${error instanceof Error ? error.message : String(error)}`;
    history.replaceState(null, '', DASHBOARD_PATH);
  }
  const account = msal.getActiveAccount() ?? msal.getAllAccounts()[0];
  if (account === undefined) return problem === undefined ? { kind: 'signed-out', signIn } : { kind: 'signed-out', signIn, problem };
  msal.setActiveAccount(account);
  let lastToken = '';
  const session: Session = {
    account,
    name: account.name ?? account.username,
    roles: () => rolesOf(lastToken),
    async token() {
      try {
        const r = await msal.acquireTokenSilent({ scopes: [config.scope], account, cacheLookupPolicy: CacheLookupPolicy.AccessTokenAndRefreshToken });
        lastToken = r.accessToken;
        return r.accessToken;
      } catch {
        throw new SignInRequired('Your session has ended.');
      }
    },
    async signOut() {
      await msal.logoutRedirect({ account, postLogoutRedirectUri: redirectUri });
    },
  };
  // Reads the roles once, so the first view already knows what the person may do.
  try {
    await session.token();
  } catch {
    return { kind: 'signed-out', signIn, problem: 'Your session has ended. Sign in again.' };
  }
  return { kind: 'signed-in', session };
}

export async function signInAgain(): Promise<void> {
  const state = await startAuth();
  if (state.kind === 'signed-out') await state.signIn();
}
