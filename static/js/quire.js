// Quire's own script: a few lines, deferred, no dependencies. Without it every page still
// works; it only adds conveniences (copy-link, image drop, autosave, live comments).
document.documentElement.classList.add("js");

// The live extensions (server-sent events, upsert) load once the reader nears a part of the
// page that streams (a post's comments, the moderation queue), once: a boosted navigation
// keeps the document. A reader who never scrolls to the comments never downloads them.
// They come after htmx has looked at the page, so the streaming element is shown to it again.
function loadLive(sources) {
  if (document.documentElement.dataset.liveLoaded !== undefined) return;
  document.documentElement.dataset.liveLoaded = "";
  let script;
  for (const src of sources.split(" ")) {
    script = document.createElement("script");
    script.src = src;
    script.async = false; // in order: upsert after sse, both after htmx
    document.head.append(script);
  }
  script.addEventListener("load", () => {
    for (const element of document.querySelectorAll("[data-live-scripts]")) htmx.process(element);
  });
}

function startLive() {
  const live = document.querySelector("[data-live-scripts]");
  if (!live || !window.htmx || document.documentElement.dataset.liveLoaded !== undefined) return;
  const near = new IntersectionObserver(
    (entries) => {
      if (!entries.some((entry) => entry.isIntersecting)) return;
      near.disconnect();
      loadLive(live.dataset.liveScripts);
    },
    { rootMargin: "100% 0px" }, // a screen ahead: in by the time the comments show
  );
  near.observe(live.parentElement); // the live element itself is hidden, and has no box
}
document.addEventListener("DOMContentLoaded", startLive);
document.addEventListener("htmx_after_swap", startLive);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-url]");
  if (!button) return;
  const status = button.parentElement.querySelector(".copy-status");
  try {
    await navigator.clipboard.writeText(button.dataset.copyUrl);
    if (status) status.textContent = "Link copied.";
  } catch {
    if (status) status.textContent = "Could not copy; the address bar has the link.";
  }
});

// The editor: images picked ("Insert image"), dropped or pasted onto the text are uploaded
// to the media library, and their Markdown goes in at the cursor. Each is first shown in the
// editor's alt-text box (#image-alt), one at a time: what it shows is asked for there, not
// in a dialog. Without script, the library's form uploads.
function imageFiles(transfer) {
  return [...(transfer?.files || [])].filter((file) => file.type.startsWith("image/"));
}

const waitingImages = [];

function altBox() {
  return document.getElementById("image-alt");
}

function askForAlt(files) {
  waitingImages.push(...files);
  const box = altBox();
  if (box && box.hidden) showNextImage(box);
}

function showNextImage(box) {
  const file = waitingImages[0];
  const textarea = document.getElementById("editor-body");
  if (!file) {
    box.hidden = true;
    textarea?.focus();
    return;
  }
  box.querySelector("[data-image-name]").textContent = file.name;
  box.querySelector("img")?.remove();
  // A look at the picture while describing it. Our CSP allows data: images, not blob: ones;
  // a large file is not read twice.
  if (file.size <= 5_000_000) {
    const reader = new FileReader();
    reader.addEventListener("load", () => {
      if (waitingImages[0] !== file || box.hidden) return;
      const picture = document.createElement("img");
      picture.alt = "";
      picture.src = reader.result;
      box.prepend(picture);
    });
    reader.readAsDataURL(file);
  }
  const alt = box.querySelector("input");
  alt.value = "";
  box.hidden = false;
  alt.focus();
}

function answerImage(box, insert) {
  const file = waitingImages.shift();
  const alt = box.querySelector("input").value.trim();
  const textarea = document.getElementById("editor-body");
  if (file && insert && textarea) uploadInto(textarea, file, alt);
  showNextImage(box);
}

document.addEventListener("click", (event) => {
  if (event.target.closest?.("#insert-image")) document.getElementById("image-file")?.click();
  const box = event.target.closest?.("#image-alt");
  if (!box) return;
  if (event.target.closest("[data-image-insert]")) answerImage(box, true);
  if (event.target.closest("[data-image-skip]")) answerImage(box, false);
});

document.addEventListener("change", (event) => {
  if (event.target.id !== "image-file") return;
  askForAlt(imageFiles(event.target));
  event.target.value = ""; // the same file may be picked again
});

document.addEventListener("keydown", (event) => {
  const box = event.target.closest?.("#image-alt");
  if (!box) return;
  // Enter would send the editor's form, which the box sits in.
  if (event.key === "Enter") {
    event.preventDefault();
    answerImage(box, true);
  } else if (event.key === "Escape") {
    event.preventDefault();
    answerImage(box, false);
  }
});

async function uploadInto(textarea, file, alt) {
  const form = textarea.form;
  const status = document.getElementById("editor-status");
  const data = new FormData();
  data.append("file", file);
  data.append("alt_text", alt);
  data.append("csrf_token", form.elements.csrf_token.value);
  if (status) status.textContent = `Uploading ${file.name}…`;
  try {
    const response = await fetch(textarea.dataset.uploadUrl, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const answer = response.headers.get("Content-Type")?.includes("json")
      ? await response.json()
      : { error: `The upload was refused (${response.status}).` };
    if (!response.ok) throw new Error(answer.error);
    const before = textarea.value.slice(0, textarea.selectionStart);
    const gap = before === "" || before.endsWith("\n") ? "" : "\n";
    textarea.setRangeText(`${gap}${answer.markdown}\n`, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    if (status) status.textContent = `Uploaded ${file.name}.`;
  } catch (error) {
    if (status) status.textContent = `${file.name}: ${error.message}`;
  }
}

document.addEventListener("dragover", (event) => {
  const textarea = event.target.closest?.("textarea[data-upload-url]");
  if (!textarea || !event.dataTransfer?.types.includes("Files")) return;
  event.preventDefault();
  textarea.classList.add("dropping");
});

document.addEventListener("dragleave", (event) => {
  event.target.closest?.("textarea[data-upload-url]")?.classList.remove("dropping");
});

document.addEventListener("drop", (event) => {
  const textarea = event.target.closest?.("textarea[data-upload-url]");
  if (!textarea) return;
  textarea.classList.remove("dropping");
  const files = imageFiles(event.dataTransfer);
  if (files.length === 0) return;
  event.preventDefault();
  askForAlt(files);
});

document.addEventListener("paste", (event) => {
  const textarea = event.target.closest?.("textarea[data-upload-url]");
  const files = imageFiles(event.clipboardData);
  if (!textarea || files.length === 0) return;
  event.preventDefault();
  askForAlt(files);
});

// The editor autosaves after a three-second pause (editor.html), and a fast writer may
// never make one. htmx 4 has no trailing-only throttle (`throttle` saves at the first
// keystroke too) and our CSP rules out trigger filters, so this counts instead: ten
// seconds of typing since the last autosave ask for one. The count lives on the form,
// so a new editor starts afresh.
document.addEventListener("input", (event) => {
  const form = event.target.closest?.("form#editor");
  if (!form) return;
  const since = Number(form.dataset.typingSince ||= Date.now());
  if (Date.now() - since < 10_000) return;
  delete form.dataset.typingSince;
  form.dispatchEvent(new Event("autosave-due"));
});

document.addEventListener("htmx_before_request", (event) => {
  if (event.target.id === "autosave") delete event.target.closest("form").dataset.typingSince;
});

// An explicit save takes everything typed so far: an autosave still waiting for its pause
// would have nothing new to keep, and would only say less than the save just said. So what
// each save sent is kept, and an autosave of the same text is not sent. Decided when the
// request is made, before it joins the form's queue: a request stopped later would hold
// the queue's place.
const savedText = new WeakMap();

function editorText(form) {
  const fields = new FormData(form);
  for (const name of ["csrf_token", "post_id", "version", "action"]) fields.delete(name);
  return new URLSearchParams(fields).toString();
}

document.addEventListener("htmx_config_request", (event) => {
  const source = event.detail?.ctx?.sourceElement;
  const form = source?.closest?.("form#editor");
  // The form's own saves and the autosave; not the preview, which keeps nothing.
  if (!form || (source !== form && source.id !== "autosave")) return;
  const text = editorText(form);
  if (source.id === "autosave" && savedText.get(form) === text) event.preventDefault();
  else savedText.set(form, text);
});

// Code blocks (components/code_blocks.py) get a copy button: it copies the code, and of
// a shell session only the commands, without their prompts or the output.
function addCopyButtons(root) {
  for (const figure of root.querySelectorAll?.("figure.code:not([data-copyable])") || []) {
    figure.dataset.copyable = "";
    // Placed over the block's corner (CSS), so that adding it moves nothing on the page.
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-code";
    button.textContent = "Copy";
    const status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    figure.append(button, status);
  }
}

function codeToCopy(code) {
  const lines = [...code.querySelectorAll(".line")];
  const session = code.querySelector(".gp") !== null;
  return lines
    .filter((line) => !(session && line.classList.contains("out")))
    .map((line) => {
      const copy = line.cloneNode(true);
      copy.querySelectorAll(".gp").forEach((prompt) => prompt.remove());
      return copy.textContent;
    })
    .join("\n");
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest?.("button.copy-code");
  if (!button) return;
  const figure = button.closest("figure.code");
  const status = button.nextElementSibling;
  try {
    await navigator.clipboard.writeText(codeToCopy(figure.querySelector("pre code")));
    button.textContent = "Copied";
    status.textContent = "Code copied.";
  } catch {
    status.textContent = "Could not copy: select the code instead.";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

document.addEventListener("DOMContentLoaded", () => addCopyButtons(document));
document.addEventListener("htmx_after_swap", () => addCopyButtons(document));

// Ctrl+S (Cmd+S) in the editor saves as the post stands: a draft stays a draft, a
// scheduled post keeps its date, a published one is updated.
document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== "s") return;
  const form = event.target.closest?.("form#editor") || document.querySelector("form#editor");
  if (!form) return;
  event.preventDefault();
  const action = form.querySelector("#editor-state")?.dataset.saveAction || "draft";
  const button = form.querySelector(`button[name="action"][value="${action}"]`);
  form.requestSubmit(button || undefined);
});

// After a boosted navigation (the whole body swapped) focus would fall to <body>: it
// goes to the new page's main heading instead, where a screen reader reads on from.
document.addEventListener("htmx_after_swap", (event) => {
  if (event.detail?.ctx?.target !== document.body) return;
  const heading = document.querySelector("main h1");
  if (!heading) return;
  if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: true });
});

// The header's live search is a combobox (WAI-ARIA's pattern): the results are a listbox
// it controls; arrow keys move through them, Enter opens the one chosen, Escape closes.
const searchBox = () => document.getElementById("site-search-q");

function liveOptions() {
  return [...document.querySelectorAll("#search-live [role=option]")];
}

function choose(box, option) {
  for (const each of liveOptions()) each.setAttribute("aria-selected", String(each === option));
  if (option) {
    box.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  } else {
    box.removeAttribute("aria-activedescendant");
  }
}

function closeLive(box) {
  document.getElementById("search-live").replaceChildren();
  box.setAttribute("aria-expanded", "false");
  choose(box, null);
}

document.addEventListener("htmx_after_swap", (event) => {
  const box = searchBox();
  if (!box || event.detail?.ctx?.target?.id !== "search-live") return;
  box.setAttribute("aria-expanded", String(liveOptions().length > 0));
  choose(box, null);
});

document.addEventListener("keydown", (event) => {
  const box = searchBox();
  if (!box || event.target !== box) return;
  const options = liveOptions();
  const current = options.findIndex((option) => option.getAttribute("aria-selected") === "true");
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    if (options.length === 0) return;
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = current < 0 ? (step > 0 ? 0 : options.length - 1)
      : (current + step + options.length) % options.length;
    choose(box, options[next]);
  } else if (event.key === "Enter" && current >= 0) {
    event.preventDefault();
    options[current].querySelector("a").click();
    closeLive(box);
  } else if (event.key === "Escape" && box.getAttribute("aria-expanded") === "true") {
    event.preventDefault();
    closeLive(box);
  }
});

document.addEventListener("click", (event) => {
  const box = searchBox();
  if (box && !event.target.closest?.(".site-search")) closeLive(box);
});

// Back to a list scrolled past its first page: htmx fetches the page again (it keeps no
// snapshots), so each page the scrolling loaded is counted in the history entry, and the
// restore asks for that many at once (`?pages=`). The browser then scrolls back, since the
// list is as long as it was; the position is kept too, for browsers that scroll too early.
const MAX_RESTORED_PAGES = 10; // web/views/blog.py

function keepInHistory(values) {
  history.replaceState({ ...history.state, ...values }, "");
}

// Counted before the swap: after it the sentinel has left the page, and its events with it.
document.addEventListener("htmx_before_swap", (event) => {
  const ctx = event.detail?.ctx;
  if (!ctx?.sourceElement?.classList?.contains("pager-sentinel") || ctx.response?.status !== 200) return;
  const pages = Math.min((history.state?.quirePages || 1) + 1, MAX_RESTORED_PAGES);
  keepInHistory({ htmx: true, quirePages: pages });
});

document.addEventListener("htmx_before_history_update", () => {
  keepInHistory({ htmx: true, quireScroll: window.scrollY });
});

document.addEventListener("htmx_before_request", (event) => {
  const request = event.detail?.ctx?.request;
  const pages = history.state?.quirePages;
  if (request?.headers?.["HX-History-Restore-Request"] !== "true" || !(pages > 1)) return;
  const url = new URL(request.action, location.href);
  url.searchParams.set("pages", pages);
  request.action = url.pathname + url.search;
});

document.addEventListener("htmx_after_swap", (event) => {
  const request = event.detail?.ctx?.request;
  const scroll = history.state?.quireScroll;
  if (request?.headers?.["HX-History-Restore-Request"] !== "true" || scroll === undefined) return;
  requestAnimationFrame(() => window.scrollTo(0, scroll));
});

// An action that swaps away the element holding focus (a comment sent, a form refused)
// would drop focus to <body>: it goes to what the action gave instead, the first field in
// error, else the message that says what happened. After the swap the old element has left
// the page, and its events with it, so this looks once the swap is done, by the target's id.
document.addEventListener("htmx_before_swap", (event) => {
  const target = event.detail?.ctx?.target;
  if (!target?.id || target === document.body || !target.contains(document.activeElement)) return;
  requestAnimationFrame(() => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const place = document.getElementById(target.id);
    if (!place) return;
    const result =
      place.querySelector('[aria-invalid="true"]') ||
      place.querySelector('[role="alert"]') ||
      (place.matches('[role="status"]') ? place : place.querySelector('[role="status"]'));
    if (!result) return;
    if (!result.matches("input, textarea, select, button, a[href]")) result.setAttribute("tabindex", "-1");
    result.focus();
  });
});
