// Jifen pages: charts from JSON blocks, and the CSRF token on scripted requests.
(function () {
  "use strict";
  // Custom series drawn by name: an option is JSON, so it names its renderItem.
  var renderers = {
    // [category index, low, high]: a vertical whisker with caps, shifted within the category.
    errorBar: function (series) {
      return function (params, api) {
        var band = api.size([1, 0])[0];
        var x = api.coord([api.value(0), 0])[0] + band * (series.errorShift || 0);
        var low = api.coord([api.value(0), api.value(1)])[1];
        var high = api.coord([api.value(0), api.value(2)])[1];
        var cap = band * 0.06;
        var style = { stroke: api.visual("color"), lineWidth: 1.5 };
        var line = function (x1, y1, x2, y2) {
          return { type: "line", shape: { x1: x1, y1: y1, x2: x2, y2: y2 }, style: style };
        };
        return { type: "group", children: [
          line(x, low, x, high), line(x - cap, low, x + cap, low), line(x - cap, high, x + cap, high)
        ] };
      };
    }
  };
  function withRenderers(option) {
    (option.series || []).forEach(function (series) {
      if (typeof series.renderItem === "string") {
        series.renderItem = renderers[series.renderItem](series);
      }
    });
    return option;
  }
  function renderCharts() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.echarts) { return; }
      var chart = window.echarts.init(el);
      // Listen first: a chart with nothing to animate may finish within setOption.
      chart.on("finished", function () { el.dataset.rendered = "1"; });
      chart.setOption(withRenderers(JSON.parse(source.textContent)));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  window.Jifen = {
    csrf: function () { return document.querySelector('meta[name="csrf-token"]').content; },
    renderCharts: renderCharts
  };
  document.addEventListener("DOMContentLoaded", renderCharts);
})();
