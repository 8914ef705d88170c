// Quire's own script: a few lines, loaded before the first paint, no dependencies.
// Without it every page still works; it only adds the copy-link button.
document.documentElement.classList.add("js");

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
