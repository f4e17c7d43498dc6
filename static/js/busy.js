// Feedback while htmx fetches (every page, from templates/base.html): the region about to
// be replaced says it is busy (aria-busy, dimmed by static/css/app.css) until its answer
// arrives. Filters swap a table in place and leave the page where it was; a pagination
// link brings the top of the new page of rows into view, as a page load would.
(function () {
  function target(event) {
    return event.detail && event.detail.target;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var region = target(event);
    if (region) region.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var region = target(event);
    if (region) region.removeAttribute("aria-busy");
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var origin = event.detail.requestConfig && event.detail.requestConfig.elt;
    var region = target(event);
    if (origin && origin.closest && origin.closest(".pagination") && region) {
      region.scrollIntoView({ block: "start" });
    }
  });
})();
