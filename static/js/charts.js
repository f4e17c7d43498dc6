// Draws every .chart element from the figure JSON it holds (dashboards/charts.py), on
// page load and after each htmx swap. plotly.min.js is loaded before this file.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      if (element.dataset.drawn) return;
      var source = document.getElementById(element.dataset.chart);
      if (!source || !window.Plotly) return;
      var figure = JSON.parse(source.textContent);
      element.dataset.drawn = "1";
      window.Plotly.newPlot(element, figure.data, figure.layout, {
        displayModeBar: false,
        responsive: true,
        locale: document.documentElement.lang || "en",
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
