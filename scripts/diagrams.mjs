// Draws a post's diagrams as SVG when it is saved (components/diagrams/runner.py).
// Reads a JSON array of {"kind": "mermaid" | "dot", "source": "..."} on stdin and
// writes one JSON line per diagram, in order, as each is done: {"svg": "..."} or
// {"error": "..."}. A drawing longer than the characters its one argument gives is an
// error, not a line that size. Writing as it goes lets the caller keep the diagrams drawn before
// one that never finishes, when it has to stop this process.
//
// The caller runs this under Node's permission model (read access to node_modules and
// this folder only, no child processes), with a memory limit and a clean environment.
// Neither renderer has a reason to reach the network; its means are removed anyway.
for (const name of ["fetch", "WebSocket", "XMLHttpRequest", "EventSource"]) {
  delete globalThis[name];
}

const { renderMermaidSVG } = await import("beautiful-mermaid");
const { instance } = await import("@viz-js/viz");

let viz = null;

async function draw(kind, source) {
  if (kind === "mermaid") {
    // Colours are CSS variables that static/css/quire.css defines for both schemes.
    return renderMermaidSVG(source, { transparent: true });
  }
  if (kind === "dot") {
    viz ??= await instance();
    const result = viz.render(source, { format: "svg" });
    if (result.status !== "success") {
      const messages = result.errors.map((e) => e.message.trim()).filter(Boolean);
      throw new Error(messages.join("; ") || "Graphviz could not draw this graph");
    }
    return result.output;
  }
  throw new Error(`no renderer for ${kind}`);
}

const maxSvg = Number(process.argv[2] ?? 1_000_000);

let input = "";
for await (const chunk of process.stdin) input += chunk;

for (const { kind, source } of JSON.parse(input)) {
  let line;
  try {
    const svg = await draw(kind, source);
    line =
      svg.length > maxSvg
        ? { error: `the drawing is too large to show (${svg.length.toLocaleString("en")} characters)` }
        : { svg };
  } catch (error) {
    line = { error: String(error?.message ?? error).slice(0, 500) };
  }
  process.stdout.write(JSON.stringify(line) + "\n");
}
