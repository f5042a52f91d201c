/** The dashboard's entry: bundled by build.ts, loaded by the page dashboard.ts serves at /ui/. */
import { render } from "preact";
import { App } from "./app.ts";
import { html } from "./html.ts";

const root = document.getElementById("app");
if (root !== null) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
