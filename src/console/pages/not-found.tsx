/** Any other path under /console: a page that says so (status 404), not the API's JSON. */
import { Page, type PageProps } from "../layout";

export function NotFound(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Page not found" script="">
      <p>
        The console has no page here. <a href="/console/projects">Go to the projects.</a>
      </p>
    </Page>
  );
}
