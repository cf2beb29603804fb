// Jifen pages: charts from JSON blocks, and the CSRF token on scripted requests.
(function () {
  "use strict";
  function renderCharts() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.echarts) { return; }
      var chart = window.echarts.init(el);
      chart.setOption(JSON.parse(source.textContent));
      chart.on("finished", function () { el.dataset.rendered = "1"; });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  window.Jifen = {
    csrf: function () { return document.querySelector('meta[name="csrf-token"]').content; },
    renderCharts: renderCharts
  };
  document.addEventListener("DOMContentLoaded", renderCharts);
})();
