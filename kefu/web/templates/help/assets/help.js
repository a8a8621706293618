/* Help center enhancements; every page works without them. */
(function () {
  "use strict";

  /* "Chat with us" opens the chat widget when it is on the page; otherwise the link leads to
     the ticket form. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-open-chat]");
    if (link && window.KefuWidget && typeof window.KefuWidget.open === "function") {
      event.preventDefault();
      window.KefuWidget.open();
    }
  });

  /* Instant search, as a combobox: arrow keys move between the box and its results; Escape
     closes them (hides: they stay there) and keeps what was typed (a search box clears itself
     on Escape: only once they are closed); ArrowDown in the box opens closed results again and
     moves to the first; new results (typing) are shown again. */
  function isOpen(results) {
    return !results.hidden && results.innerHTML.trim() !== "";
  }

  document.addEventListener("keydown", function (event) {
    var results = document.getElementById("instant-results");
    var box = document.getElementById("help-q");
    if (!results || !box) {
      return;
    }
    var links = Array.prototype.slice.call(results.querySelectorAll("a"));
    var at = links.indexOf(document.activeElement);
    if (event.key === "Escape" && (document.activeElement === box || at >= 0)) {
      if (isOpen(results)) {
        event.preventDefault();
      }
      results.hidden = true;
      box.focus();
    } else if (event.key === "ArrowDown" && document.activeElement === box &&
               results.hidden && results.innerHTML.trim() !== "") {
      event.preventDefault();
      results.hidden = false;
      if (links.length) {
        links[0].focus();
      }
    } else if (event.key === "ArrowDown" && links.length && !results.hidden &&
               (document.activeElement === box || at >= 0)) {
      event.preventDefault();
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      (at === 0 ? box : links[at - 1]).focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "instant-results") {
      event.target.hidden = false;
    }
  });
})();
