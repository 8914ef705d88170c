// Copies the browser files Quire serves from the htmx.org npm package into
// static/vendor/ (ignored by git), so the app never depends on a CDN.
// Runs as npm's postinstall step: locally through `make`, on a PaaS through
// the Node buildpack's `npm ci`.
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "node_modules", "htmx.org", "dist");
const target = join(root, "static", "vendor");

// htmx itself, and the extensions the templates use: hx-sse streams live comments,
// hx-upsert puts a comment in place without showing it twice.
const files = ["htmx.min.js", "ext/hx-sse.min.js", "ext/hx-upsert.min.js"];

mkdirSync(target, { recursive: true });
for (const name of files) {
  copyFileSync(join(source, name), join(target, basename(name)));
}
console.log(`vendor: copied ${files.join(", ")} to static/vendor`);
