/**
 * The web console at /console: server-rendered pages (Hono JSX) whose small inline scripts call /admin/v1 with the
 * operator's credential. The pages carry no data and the console has no endpoint of its own, so every read and write
 * goes through the management API's checks, audit events and next-request promise, exactly as curl's would. Any
 * page may be fetched without a credential: it is the same empty frame for everyone.
 */
import { Hono, type Context } from "hono";
import { html } from "hono/html";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AppBindings } from "../env";
import { consoleHeaders, nonceOf } from "./headers";
import type { PageProps } from "./layout";
import { Applications } from "./pages/applications";
import { Audit } from "./pages/audit";
import { Budgets } from "./pages/budgets";
import { Deployment } from "./pages/deployment";
import { Deployments } from "./pages/deployments";
import { Explain } from "./pages/explain";
import { Keys } from "./pages/keys";
import { NotFound } from "./pages/not-found";
import { Projects } from "./pages/projects";
import { SignIn } from "./pages/sign-in";
import { Tokens } from "./pages/tokens";
import { Usage } from "./pages/usage";

type FrameProps = Omit<PageProps, "title" | "script" | "children">;
type PageComponent = (props: FrameProps) => JSX.Element;

/** Renders `Component` for this request: its nonce, the project in its URL, and whether Access signed it in. */
function render(c: Context<AppBindings>, Component: PageComponent, tab?: string, status: 200 | 404 = 200) {
  const props: FrameProps = {
    nonce: nonceOf(c),
    project: c.req.param("project") ?? "",
    // The edge adds this header only behind Access; the API verifies it on every call, so here it only decides
    // whether the pages may work without a typed token.
    access: c.get("config").access !== null && c.req.header("cf-access-jwt-assertion") !== undefined,
    ...(tab === undefined ? {} : { tab }),
  };
  return c.html(html`<!doctype html>${Component(props)}`, status);
}

/** Project pages, by their path under /console/projects/:project. */
const PROJECT_PAGES: [path: string, tab: string, page: PageComponent][] = [
  ["", "deployments", Deployments],
  ["/keys", "keys", Keys],
  ["/applications", "applications", Applications],
  ["/tokens", "tokens", Tokens],
  ["/budgets", "budgets", Budgets],
  ["/usage", "usage", Usage],
  ["/audit", "audit", Audit],
  ["/explain", "explain", Explain],
];

export function consoleApp() {
  const app = new Hono<AppBindings>();
  app.use("*", consoleHeaders);
  app.get("/", (c) => c.redirect("/console/projects"));
  app.get("/sign-in", (c) => render(c, SignIn));
  app.get("/projects", (c) => render(c, Projects));
  for (const [path, tab, page] of PROJECT_PAGES) app.get(`/projects/:project${path}`, (c) => render(c, page, tab));
  app.get("/projects/:project/deployments/:deployment", (c) =>
    render(c, (props) => Deployment({ ...props, deployment: c.req.param("deployment") }), "deployments"),
  );
  app.get("*", (c) => render(c, NotFound, undefined, 404));
  return app;
}
