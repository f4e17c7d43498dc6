/*
 * The header's account search (templates/includes/header_search.html): an ARIA
 * combobox whose listbox htmx fills as one types (dashboards/search.html#search-options).
 *
 * Keyboard first: "/" anywhere but in a field focuses the box; ArrowDown/ArrowUp move
 * through the accounts found; Enter opens the highlighted one, or, with none
 * highlighted, submits the form to the results page (which also works without this
 * script); Escape closes the list, and a second Escape clears the box.
 */
(function () {
  "use strict";

  function isTyping(element) {
    if (!element) return false;
    if (element.isContentEditable) return true;
    return /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName);
  }

  function setUp(form) {
    var input = form.querySelector("[role='combobox']");
    var listbox = form.querySelector("[role='listbox']");
    var status = form.querySelector("[data-header-search-status]");
    var active = -1;

    function options() {
      return Array.prototype.slice.call(listbox.querySelectorAll("[role='option']"));
    }

    function highlight(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
        option.classList.toggle("is-active", i === index);
      });
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      var count = options().length;
      listbox.hidden = count === 0;
      input.setAttribute("aria-expanded", count ? "true" : "false");
    }

    function close() {
      highlight(-1);
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    form.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== listbox) return;
      active = -1;
      input.removeAttribute("aria-activedescendant");
      var summary = listbox.querySelector("[data-status]");
      if (status) status.textContent = summary ? summary.getAttribute("data-status") : "";
      if (document.activeElement === input) open(); else close();
    });

    input.addEventListener("keydown", function (event) {
      var all = options();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!all.length) return;
        event.preventDefault();
        if (listbox.hidden) open();
        var next = active + (event.key === "ArrowDown" ? 1 : -1);
        if (next >= all.length) next = 0;
        if (next < 0) next = all.length - 1;
        highlight(next);
      } else if (event.key === "Enter") {
        if (!listbox.hidden && active >= 0 && all[active]) {
          event.preventDefault();
          window.location.assign(all[active].href);
        }
      } else if (event.key === "Escape") {
        if (!listbox.hidden) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
        }
      }
    });

    input.addEventListener("focus", function () {
      if (input.value && options().length) open();
    });

    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) close();
    });

    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.defaultPrevented || isTyping(event.target)) return;
      event.preventDefault();
      input.focus();
      input.select();
    });
  }

  function start() {
    var form = document.querySelector("[data-header-search]");
    if (form) setUp(form);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
