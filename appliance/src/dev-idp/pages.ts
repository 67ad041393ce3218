/**
 * The dev IdP's HTML. The login page carries the element ids of Keycloak's login theme (`kc-form-login`,
 * `username`, `password`, `kc-login`, `input-error`) and its wording, so browser tests written against it run
 * unchanged against a real Keycloak.
 */

export const INVALID_CREDENTIALS_MESSAGE = 'Invalid username or password.';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f0f0f0;margin:0}
main{max-width:400px;margin:64px auto;background:#fff;padding:32px 40px;border-top:4px solid #0066cc;box-shadow:0 2px 4px rgba(0,0,0,.2)}
h1{font-size:22px;font-weight:500;margin:0 0 24px}label{display:block;margin:16px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:15px}
input[type=submit],button{margin-top:24px;width:100%;padding:10px;font-size:15px;background:#0066cc;color:#fff;border:0;cursor:pointer}
.error{color:#c9190b;display:block;margin-top:12px}`;

function page(title: string, body: string, script = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>${script ? `\n<script>${script}</script>` : ''}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface LoginPageOptions {
  realmName: string;
  /** where the form posts to */
  action: string;
  /** echoed back into the username field after a failed attempt */
  username?: string;
  error?: string;
}

export function renderLoginPage(o: LoginPageOptions): string {
  const error = o.error ? `\n<span id="input-error" class="error" aria-live="polite">${escapeHtml(o.error)}</span>` : '';
  return page(
    `Sign in to ${o.realmName}`,
    `<h1 id="kc-page-title">Sign in to your account</h1>
<form id="kc-form-login" action="${escapeHtml(o.action)}" method="post" novalidate>
<label for="username">Username or email</label>
<input id="username" name="username" type="text" value="${escapeHtml(o.username ?? '')}" autocomplete="username" autofocus${o.error ? ' aria-invalid="true"' : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"${o.error ? ' aria-invalid="true"' : ''}>${error}
<input type="submit" id="kc-login" name="login" value="Sign In">
</form>`,
  );
}

/**
 * RP-initiated logout. oidc-provider always asks for confirmation; Keycloak does not when the request carries
 * a valid id_token_hint, so the page submits itself (ending the whole session: `logout=yes`). The button is
 * there for a browser without JavaScript.
 * @param providerForm oidc-provider's `<form id="op.logoutForm">` with its xsrf field
 */
export function renderLogoutPage(realmName: string, providerForm: string): string {
  return page(
    `Logging out of ${realmName}`,
    `<h1 id="kc-page-title">Logging out</h1>
${providerForm}
<input type="hidden" name="logout" value="yes" form="op.logoutForm">
<button type="submit" id="kc-logout" form="op.logoutForm">Logout</button>`,
    "document.addEventListener('DOMContentLoaded',function(){document.getElementById('op.logoutForm').submit()})",
  );
}

export function renderMessagePage(realmName: string, heading: string, message: string): string {
  return page(
    realmName,
    `<h1 id="kc-page-title">${escapeHtml(heading)}</h1>
<p id="kc-info-message">${escapeHtml(message)}</p>`,
  );
}
