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

  /* Instant search: arrow keys move between the box and its results; Escape closes them and
     keeps what was typed (a search box clears itself on Escape: only once they are closed). */
  document.addEventListener("keydown", function (event) {
    var results = document.getElementById("instant-results");
    var box = document.getElementById("help-q");
    if (!results || !box) {
      return;
    }
    var links = Array.prototype.slice.call(results.querySelectorAll("a"));
    var at = links.indexOf(document.activeElement);
    if (event.key === "Escape" && (document.activeElement === box || at >= 0)) {
      if (results.innerHTML.trim()) {
        event.preventDefault();
      }
      results.innerHTML = "";
      box.focus();
    } else if (event.key === "ArrowDown" && links.length &&
               (document.activeElement === box || at >= 0)) {
      event.preventDefault();
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      (at === 0 ? box : links[at - 1]).focus();
    }
  });
})();
