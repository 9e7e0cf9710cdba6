// A link at the top of every page to the same page in the other language: the English site is at the root, the
// Korean one in ko/, with its notebooks in notebooks/ko/ (as in the repository). Pages only one language has (the
// English site's About pages) link to the other site's landing page.
document.addEventListener("DOMContentLoaded", () => {
  const root = new URL(document.documentElement.dataset.content_root || "./", window.location.href);
  const page = window.location.href.slice(root.href.length).split("#")[0].split("?")[0] || "index.html";
  const korean = document.documentElement.lang === "ko";
  let target;
  if (korean) {
    target = page.startsWith("notebooks/ko/") ? "../notebooks/" + page.slice("notebooks/ko/".length) : "../index.html";
  } else {
    target = page.startsWith("notebooks/") ? "ko/notebooks/ko/" + page.slice("notebooks/".length) : "ko/index.html";
  }
  const link = document.createElement("a");
  link.className = "btn language-switch";
  link.href = new URL(target, root).href;
  link.lang = korean ? "en" : "ko";
  link.textContent = korean ? "English" : "한국어";
  link.title = korean ? "Read this page in English" : "이 페이지를 한국어로 읽기";
  const header = document.querySelector(".article-header-buttons") || document.querySelector("main") || document.body;
  header.prepend(link);
});
