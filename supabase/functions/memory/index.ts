// `memory`: the conversation-memory example on safeMigration (_shared/examples/memory.ts). HTTP
// routing only; the routes and their rules are in _shared/examples/memory_http.ts.
//   POST /memory/messages, GET /memory/context, GET /memory/consistency, POST /memory/repair
import { handle, serve } from "../_shared/platform/http.ts";
import { memoryRoutes } from "../_shared/examples/memory_http.ts";

const handler = handle(memoryRoutes, { name: "memory" });

export default handler;
serve(handler);
