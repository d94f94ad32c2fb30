// Review-queue keyboard shortcuts and error display for htmx requests.
(function () {
  "use strict";

  function cards() { return Array.from(document.querySelectorAll("article.report[data-report]")); }

  function current() {
    var active = document.activeElement;
    var card = active && active.closest ? active.closest("article.report") : null;
    return card || document.querySelector("article.report.focused") || cards()[0] || null;
  }

  function focusCard(card) {
    if (!card) return;
    cards().forEach(function (c) { c.classList.remove("focused"); });
    card.classList.add("focused");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function move(step) {
    var list = cards();
    var index = list.indexOf(current());
    focusCard(list[Math.min(list.length - 1, Math.max(0, index + step))]);
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape" && event.target.blur) { event.target.blur(); }
      return;
    }
    if (!cards().length) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (/^[1-5]$/.test(event.key)) {
      var card = current();
      var button = card && card.querySelector('form.relabel button[data-key="' + event.key + '"]');
      if (button) { focusCard(card); button.click(); event.preventDefault(); }
    } else if (event.key === "a") {
      var input = current() && current().querySelector("form.assign input[name=unit]");
      if (input) { input.focus(); input.select(); event.preventDefault(); }
    }
  });

  // After a card is replaced, keep the keyboard focus on it so the next key acts on the next card.
  document.addEventListener("htmx:afterSwap", function (event) {
    var card = event.detail.target && document.getElementById(event.detail.target.id);
    if (card) { focusCard(card); }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var flash = document.getElementById("flash");
    var xhr = event.detail.xhr;
    if (xhr.status === 401 && xhr.getResponseHeader("HX-Redirect")) return;
    if (flash) {
      flash.innerHTML = xhr.responseText && xhr.responseText.indexOf("flash") >= 0
        ? xhr.responseText : '<div class="flash error" role="alert">操作失败（' + xhr.status + '），请刷新后重试</div>';
      flash.scrollIntoView({ block: "nearest" });
    }
  });
})();

// Safe clicks without inline script (the CSP forbids it): forms and buttons with data-confirm ask first,
// links with data-back go back in history (or to their href when there is no history).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    if (trigger && trigger.type === "submit") return;  // the submit listener above has asked already
    var elt = event.detail.elt;
    var form = elt.closest ? elt.closest("form") : null;
    var text = elt.getAttribute("data-confirm") || (form && form.getAttribute("data-confirm"));
    if (text && !window.confirm(text)) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-back]") : null;
    if (link && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });

  // The 待审核 count in the navigation follows corrections made on the page (the server sends the new count).
  document.body && document.body.addEventListener("reviewCount", function (event) {
    document.querySelectorAll("[data-review-count]").forEach(function (el) {
      el.textContent = String(event.detail.value);
    });
  });

})();

document.addEventListener("click", function (event) {
  "use strict";
  if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
});
