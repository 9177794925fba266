/* bok: search with Pagefind (https://pagefind.app).
 *
 * Loaded on every page (mkdocs.yml's extra_javascript, added by the bok plugin):
 * - puts a search box in the header, which opens the search page with the query (?q=...),
 *   and focuses it on "/" as Material's own search box would be; on a narrow screen the box
 *   is an icon that opens the search page (bok.css), so the site name keeps its room;
 * - on the search page, loads Pagefind's UI and index (pagefind/, written by `bok build`)
 *   and mounts it, with filters for domain, type, author and state.
 * Pagefind fetches only the index chunks a query needs, so the first search of a big book
 * downloads a few hundred kilobytes, not an index of every page.
 */
(function () {
  "use strict";
  var SEARCH_PAGE = "__BOK_SEARCH_PAGE__"; /* the search page's URL from the site root, set by bok */
  var script = document.currentScript;
  if (!script || !script.src) return;
  var root = new URL("../../", script.src); /* this file is <site>/assets/bok/search.js */
  var searchUrl = new URL(SEARCH_PAGE, root);
  var bundle = new URL("pagefind/", root);
  var MAGNIFY = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" aria-hidden="true">' +
    '<path d="M9.5 3A6.5 6.5 0 0 1 16 9.5c0 1.61-.59 3.09-1.56 4.23l.27.27h.79l5 5-1.5 1.5-5-5v' +
    '-.79l-.27-.27A6.52 6.52 0 0 1 9.5 16 6.5 6.5 0 0 1 3 9.5 6.5 6.5 0 0 1 9.5 3m0 2C7 5 5 7 5 ' +
    '9.5S7 14 9.5 14 14 12 14 9.5 12 5 9.5 5"/></svg>'; /* Material's search icon */

  function headerBox() {
    var header = document.querySelector(".md-header__inner");
    if (!header || header.querySelector(".bok-header-search")) return;
    if (document.querySelector(".md-search")) return; /* the theme's own search is on */
    var form = document.createElement("form");
    form.className = "bok-header-search";
    form.setAttribute("role", "search");
    form.method = "get";
    form.action = searchUrl.href;
    var input = document.createElement("input");
    input.type = "search";
    input.name = "q";
    input.className = "bok-header-search__input";
    input.placeholder = "Search";
    input.setAttribute("aria-label", "Search");
    input.autocomplete = "off";
    form.appendChild(input);
    /* On a narrow screen (bok.css) the box would squeeze the site name: an icon instead. */
    var button = document.createElement("a");
    button.className = "md-header__button md-icon bok-header-search__button";
    button.href = searchUrl.href;
    button.title = "Search";
    button.setAttribute("aria-label", "Search");
    button.innerHTML = MAGNIFY;
    form.appendChild(button);
    header.insertBefore(form, header.querySelector(".md-header__source"));
  }

  function editing(element) {
    return element && (element.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (editing(document.activeElement)) return;
    var box = document.querySelector(".pagefind-ui__search-input") ||
      document.querySelector(".bok-header-search__input");
    if (!box) return;
    event.preventDefault();
    if (box.getClientRects().length) box.focus();
    else window.location.href = searchUrl.href; /* a narrow screen shows an icon, not the box */
  });

  function note(mount, message) {
    var p = mount.querySelector(".bok-search__note") || document.createElement("p");
    p.className = "bok-search__note";
    p.textContent = message;
    mount.appendChild(p);
  }

  function mountSearch() {
    var mount = document.getElementById("bok-search");
    if (!mount || mount.getAttribute("data-bok-mounted")) return;
    mount.setAttribute("data-bok-mounted", "loading");
    var header = document.querySelector(".bok-header-search");
    if (header) header.hidden = true; /* this page has its own, larger box */
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("pagefind-ui.css", bundle).href;
    document.head.appendChild(css);
    var ui = document.createElement("script");
    ui.src = new URL("pagefind-ui.js", bundle).href;
    ui.onload = function () {
      mount.textContent = "";
      var search = new window.PagefindUI({
        element: "#bok-search",
        bundlePath: bundle.pathname,
        baseUrl: root.pathname,
        showSubResults: true,
        showImages: false,
        autofocus: true,
        debounceTimeoutMs: 100, /* Pagefind waits 300 ms by default; a search costs little */
        openFilters: ["domain", "type", "state"],
        translations: { placeholder: "Search the endorsed chapters" }
      });
      mount.setAttribute("data-bok-mounted", "ready");
      var query = new URLSearchParams(window.location.search).get("q");
      if (query) search.triggerSearch(query);
    };
    ui.onerror = function () {
      mount.setAttribute("data-bok-mounted", "failed");
      note(mount, "The search index is missing: it is made by bok build (Pagefind), " +
        "in the pagefind/ folder of the site.");
    };
    document.head.appendChild(ui);
  }

  function setUp() {
    headerBox();
    mountSearch();
  }

  /* Material's instant navigation swaps pages without running scripts again. */
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(setUp);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
