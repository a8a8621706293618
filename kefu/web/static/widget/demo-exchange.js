/* DemoEx, the development demo exchange: tabs, and buttons that open the Kefu widget through
 * its JS API (window.KefuWidget), the way an exchange's own page would. */
(function () {
  "use strict";

  /* Call the widget once it is there (widget.js loads async and fires "kefu:ready"). */
  function withWidget(action) {
    if (window.KefuWidget && window.KefuWidget.version) {
      action(window.KefuWidget);
      return;
    }
    window.addEventListener("kefu:ready", function () { action(window.KefuWidget); },
                            { once: true });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-kefu-open],[data-kefu-ask]")
                                      : null;
    if (!target) {
      return;
    }
    var question = target.getAttribute("data-kefu-ask");
    withWidget(function (widget) {
      if (question) {
        widget.ask(question);
      } else {
        widget.open();
      }
    });
  });

  /* Deposit / Withdraw tabs (WAI-ARIA tabs: arrow keys move between them). */
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  function select(tab) {
    tabs.forEach(function (other) {
      var chosen = other === tab;
      other.setAttribute("aria-selected", chosen ? "true" : "false");
      other.tabIndex = chosen ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
    });
  }
  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () { select(tab); });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (step) {
        var next = tabs[(index + step + tabs.length) % tabs.length];
        select(next);
        next.focus();
      }
    });
  });
})();
