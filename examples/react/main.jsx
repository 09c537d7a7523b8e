// trimtab flags in a React app through OpenFeature: @openfeature/react-sdk's useFlag over the
// trimtab web provider (@trimtab/web/openfeature), evaluated in the page by the Wasm flag build.
// A component re-renders when its flag changes: the client's refresh (every `refresh` ms) or a
// context change reaches useFlag as PROVIDER_CONFIGURATION_CHANGED.
//
// Built with Vite (examples/react/vite.config.js). Settings from the query string, for the demo
// and its test: url (the Supabase project, default this origin), key (publishable key), token (an
// access token; a real app passes its supabase-js client as `supabase` instead), refresh (ms).
import React from "react";
import { createRoot } from "react-dom/client";
import { OpenFeature, OpenFeatureProvider, useFlag } from "@openfeature/react-sdk";
import { createFlagClient } from "@trimtab/web";
import { TrimtabWebProvider } from "@trimtab/web/openfeature";

const q = new URLSearchParams(location.search);
const client = createFlagClient({
  url: q.get("url") ?? location.origin,
  publishableKey: q.get("key") ?? undefined,
  token: q.get("token") ?? undefined,
  refreshMs: Number(q.get("refresh") ?? 30_000),
});
OpenFeature.setProvider(new TrimtabWebProvider(client));

let renders = 0;

function AgentChat() {
  const chat = useFlag("FEATURE_AGENT_CHAT", false);
  renders++;
  return (
    <p id="chat" data-reason={chat.reason} data-renders={renders}>
      Agent chat: {chat.value ? "on" : "off"} <small>({chat.reason})</small>
    </p>
  );
}

function Prompts() {
  const prompts = useFlag("USE_OPTIMIZED_PROMPTS", "original");
  return <p id="prompts">Prompts: {prompts.value}</p>;
}

createRoot(document.getElementById("root")).render(
  <OpenFeatureProvider>
    <h1>trimtab + OpenFeature React</h1>
    <AgentChat />
    <Prompts />
  </OpenFeatureProvider>,
);
