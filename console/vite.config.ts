/**
 * The console's production build: `npm run build:console` → console/dist (index.html, one
 * hashed JS and CSS file). Relative asset URLs, so the same build is served at the root of
 * CloudFront or of `caretaker local up`.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  // Preact's automatic JSX runtime (no React, no Babel plugin).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Vite inlines small assets as data: URLs; the CSP allows only img data:, so keep scripts and styles as files.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
