// The trimtab version reported by edge functions. Must equal "version" in package.json
// (checked by tests/deno/edge_test.ts); functions cannot read package.json once deployed.
export const VERSION = "0.1.0";
