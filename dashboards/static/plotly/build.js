// Builds plotly-lagesbild.min.js from entry.js with plotly.js's own esbuild settings (esbuild-config.js of
// plotly.js 4.1.1, without the WebGL plugin: no gl trace is bundled). Run: npm ci && npm run build
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const version = require('plotly.js/package.json').version;

esbuild.build({
    entryPoints: ['./entry.js'],
    outfile: './plotly-lagesbild.min.js',
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    banner: { js: `/*! plotly.js v${version} (lägesbild bundle: scatter, bar, heatmap) | Copyright 2012-2026, Plotly, Inc. | MIT License */` },
    plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
    alias: { stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    logLevel: 'info'
}).catch(() => process.exit(1));
