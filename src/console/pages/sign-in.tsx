/**
 * Sign-in: an ADMIN_TOKEN or an `ik_sdk_` management token, checked against the API before it is kept (in this
 * tab's sessionStorage only). Behind Cloudflare Access no token is needed: the page says so and links on.
 */
import { Field, Page, type PageProps } from "../layout";

const SCRIPT = String.raw`
const form = document.getElementById("sign-in-form");
// The reason for being sent here is an error code, shown in words of our own: a link cannot put text on this page.
const REASONS = {
  invalid_api_key: "The token was refused: it is unknown, revoked or malformed. Sign in again.",
  expired_api_key: "The token has expired. Sign in with another one.",
  missing_api_key: "Sign in to continue.",
};
const code = new URLSearchParams(location.search).get("reason");
const reason = code === null ? "" : Object.hasOwn(REASONS, code) ? REASONS[code] : "Sign in again.";
if (reason) { const slot = form.querySelector(".form-error"); slot.textContent = reason; slot.hidden = false; }
if (ACCESS) document.getElementById("access-note").hidden = false;
const field = document.getElementById("token");
form.querySelector("[type=submit]").disabled = false;
onSubmit(form, async () => {
  const value = field.value.trim();
  if (!value) throw new ApiError(400, { message: "Paste a token first.", param: "token" }, null);
  sessionStorage.setItem(TOKEN_KEY, value);
  let projects;
  try {
    projects = await api("GET", "/projects?limit=1", undefined, { keepSignedIn: true });
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (error instanceof ApiError) error.param = "token";
    throw error;
  }
  field.value = "";
  // Back to the page that sent us here: a console path only (one slash, then console/), never another origin.
  // Resolved first, so "/console/a/../../x" is judged as the "/x" it is.
  const next = new URL(new URLSearchParams(location.search).get("next") || "/", location.origin);
  if (next.origin === location.origin && next.pathname.startsWith("/console/") && !next.pathname.startsWith("/console/sign-in")) {
    return location.assign(next.pathname + next.search);
  }
  // The URL names the project, never the token.
  const own = value.startsWith("ik_sdk_") && projects.data[0];
  location.assign(own ? "/console/projects/" + encodeURIComponent(own.slug) : "/console/projects");
});
`;

export function SignIn(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Sign in" script={SCRIPT}>
      <p id="access-note" class="banner" hidden>
        You reached this page through Cloudflare Access, which already signs you in as the root admin:{" "}
        <a href="/console/projects">go to projects</a>. A token typed below is used instead of it, in this tab only.
      </p>
      <form method="post" id="sign-in-form" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field
          id="token"
          label="Admin token or management token"
          hint="The ADMIN_TOKEN, or an ik_sdk_ token. It is kept in this browser tab only (sessionStorage) and sent as a Bearer header; closing the tab forgets it."
        >
          {/* No name, and the button waits for the script: a form submitted without it must never carry the token. */}
          <input id="token" type="password" autocomplete="off" spellcheck={false} data-param="token" required />
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled>
            Sign in
          </button>
        </div>
      </form>
    </Page>
  );
}
