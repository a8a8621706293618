/* Kefu pages: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "en";

  /* Show <time data-local> in the reader's own time zone (the server writes UTC);
     data-local="zone" also names the zone (times customers plan by: maintenance windows). */
  function localizeTimes(root) {
    var format, zoned;
    var parts = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"};
    try {
      format = new Intl.DateTimeFormat(lang, parts);
      zoned = new Intl.DateTimeFormat(lang, Object.assign({timeZoneName: "short"}, parts));
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        el.title = el.textContent;
        el.textContent = (el.getAttribute("data-local") === "zone" ? zoned : format).format(when);
      }
    });
  }

  /* Links marked data-reader-zone (transcript downloads) carry the browser's IANA time zone
     (tz=Asia/Shanghai), so the file's times are the ones the page shows; without this file,
     or where the browser names no zone, the server answers in UTC. A plain link cannot look
     at the answer (a 422 for a zone the server does not know would be saved as the file), so
     it also asks for UTC in that case (tz_fallback=utc); the file's header then says why. */
  function addReaderZone(root) {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    if (!zone) {
      return;
    }
    root.querySelectorAll("a[data-reader-zone]").forEach(function (link) {
      var url = new URL(link.href, document.baseURI);
      url.searchParams.set("tz", zone);
      url.searchParams.set("tz_fallback", "utc");
      link.href = url.pathname + url.search + url.hash;
    });
  }

  /* Unsafe htmx requests carry the CSRF token from <meta name="csrf-token">. */
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && detail.verb !== "get") {
      detail.headers["X-CSRF-Token"] = meta.content;
    }
    /* Filter forms: leave empty fields out, so the pushed URL stays short and shareable. */
    if (detail.verb === "get" && detail.formData && detail.elt.matches("form.filters")) {
      Array.from(detail.formData.keys()).forEach(function (key) {
        if (detail.formData.getAll(key).every(function (v) { return v === ""; })) {
          detail.formData.delete(key);
        }
      });
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    localizeTimes(event.target);
    addReaderZone(event.target);
  });

  /* Forms with data-confirm ask first (e.g. merging tickets cannot be undone). */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  /* Copy buttons: data-copy holds the text, data-copied the confirmation. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  /* The pending-reason choice only matters when the new status is "pending". */
  function wireStatusForms(root) {
    root.querySelectorAll("form[data-status-form]").forEach(function (form) {
      var select = form.querySelector('select[name="status"]');
      var pendingOnly = form.querySelector("[data-pending-only]");
      if (!select || !pendingOnly) {
        return;
      }
      var sync = function () { pendingOnly.hidden = select.value !== "pending"; };
      select.addEventListener("change", sync);
      sync();
    });
  }

  /* Parts of a page that a script swapped in (the console's live ticket sidebar) */
  document.addEventListener("kefu:swapped", function (event) {
    localizeTimes(event.target);
    wireStatusForms(event.target);
  });

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    addReaderZone(document);
    wireStatusForms(document);
  });
})();
