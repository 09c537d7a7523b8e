// Side-effect module: marks this isolate as hosting functions behind a router (scripts/serve.ts,
// tests), so a function's index.ts exports its handler without calling Deno.serve itself.
// Import it BEFORE importing any supabase/functions/<name>/index.ts.
import { markRouted } from "./http.ts";
markRouted();
