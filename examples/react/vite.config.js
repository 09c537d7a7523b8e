// Vite build of the React example. In an app, @trimtab/web and @trimtab/core come from npm
// (`npm run pack` makes their tarballs); here they resolve to this repository's sources.
//
//   node_modules/.bin/vite build examples/react --outDir ../../target/react-example
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const src = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@trimtab\/web$/, replacement: src("www/trimtab-flags.js") },
      { find: /^@trimtab\/web\/openfeature$/, replacement: src("www/openfeature-web.js") },
    ],
  },
  build: { target: "es2022" },
});
