'use strict';
// lägesbild's plotly.js bundle: the core (which holds the scatter trace) and the trace types the pages draw.
// Keep in step with BUNDLED_TRACES in dashboards/render.py (a test compares them).
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
]);

module.exports = Plotly;
