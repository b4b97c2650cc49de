/**
 * Sign-in: an ADMIN_TOKEN or an `ik_sdk_` management token, checked against the API before it is kept (in this
 * tab's sessionStorage only). Behind Cloudflare Access no token is needed: the page says so and links on.
 */
import { Field, Page, type PageProps } from "../layout";

const SCRIPT = String.raw`
const form = document.getElementById("sign-in-form");
const reason = new URLSearchParams(location.search).get("reason");
if (reason) { const slot = form.querySelector(".form-error"); slot.textContent = reason; slot.hidden = false; }
if (ACCESS) document.getElementById("access-note").hidden = false;
onSubmit(form, async (data) => {
  const value = String(data.get("token") || "").trim();
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
  form.reset();
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
      <form id="sign-in-form" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field
          id="token"
          label="Admin token or management token"
          hint="The ADMIN_TOKEN, or an ik_sdk_ token. It is kept in this browser tab only (sessionStorage) and sent as a Bearer header; closing the tab forgets it."
        >
          <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} data-param="token" required />
        </Field>
        <div class="actions">
          <button type="submit" class="primary">
            Sign in
          </button>
        </div>
      </form>
    </Page>
  );
}
