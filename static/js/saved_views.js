// The accounts list's "Save this view" link carries the filters shown: htmx changes
// them without reloading the page, so the link follows the form (without JavaScript
// every change reloads the page, and the server writes the link).
(function () {
  "use strict";
  function follow(form) {
    var link = document.getElementById("save-this-view");
    if (!form || !link) { return; }
    var params = new URLSearchParams(new FormData(form));
    params.delete("sort");
    params.delete("page");
    Array.from(params.keys()).forEach(function (key) {
      if (!params.get(key)) { params.delete(key); }
    });
    var base = link.getAttribute("href").split("?")[0];
    var query = params.toString();
    link.setAttribute("href", query ? base + "?" + query : base);
  }
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.id === "account-filters") {
      follow(event.target.form);
    }
  });
  document.addEventListener("input", function (event) {
    if (event.target.form && event.target.form.id === "account-filters") {
      follow(event.target.form);
    }
  });
})();
