// A live preview of a widget drawn by the real widget.js in a sandboxed frame (its own opaque
// origin: no access to the admin's session or storage). The frame's fetch answers the widget's
// calls itself: GET config with the unsaved draft, and a canned reply to messages, so nothing
// reaches the API and no conversation is recorded. Each change re-runs widget.js in the frame.
import { useEffect, useMemo, useRef, useState } from "react";
import type { PublicWidgetConfig } from "../api/widgets";

export type PreviewMode = "inline" | "launcher";

const PREVIEW_REPLY = "This is the preview: on a site, the reply comes from the n8n workflow.";

/** The frame's script: stubs fetch, then (re)boots widget.js whenever the page sends a config. */
function frameScript(widgetJsUrl: string, widgetId: string): string {
  const values = JSON.stringify({ src: widgetJsUrl, id: widgetId, reply: PREVIEW_REPLY });
  return `(function () {
  var opts = ${values.replace(/</g, "\\u003c")};
  var config = null;
  function json(body) {
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } }));
  }
  window.fetch = function (input, init) {
    var url = String((input && input.url) || input);
    var method = (init && init.method) || "GET";
    if (/\\/config$/.test(url)) return json(config);
    if (/\\/sessions$/.test(url)) return json({ session_id: "preview", token: "preview", expires_at: new Date(Date.now() + 36e5).toISOString() });
    if (method === "POST" && /\\/messages$/.test(url)) return json({ message_id: "preview-" + Date.now(), reply: opts.reply, confidence: null, created_at: new Date().toISOString() });
    if (/\\/messages/.test(url) && method === "GET") return json({ messages: [], next_cursor: null });
    return json({});
  };
  function boot(mode) {
    document.querySelectorAll("script[data-widget-id], chat-widget-root").forEach(function (node) { node.remove(); });
    delete window.ChatWidget;
    var script = document.createElement("script");
    script.src = opts.src;
    script.dataset.widgetId = opts.id;
    if (mode === "inline") { script.dataset.mode = "inline"; script.dataset.target = "#chat"; }
    document.body.appendChild(script);
  }
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "preview") return;
    config = event.data.config;
    boot(event.data.mode);
  });
  window.parent.postMessage({ type: "preview-ready" }, "*");
})();`;
}

function frameHtml(widgetJsUrl: string, widgetId: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1"><title>Widget preview</title>' +
    "<style>html,body{margin:0;height:100%;background:#f1f5f9}#chat{height:100%;box-sizing:border-box;padding:12px}</style>" +
    `</head><body><div id="chat"></div><script>${frameScript(widgetJsUrl, widgetId)}</script></body></html>`
  );
}

export function WidgetPreview({
  config,
  widgetJsUrl,
  mode,
}: {
  config: PublicWidgetConfig;
  widgetJsUrl: string;
  mode: PreviewMode;
}) {
  const frame = useRef<HTMLIFrameElement>(null);
  const [ready, setReady] = useState(false);
  const html = useMemo(() => frameHtml(widgetJsUrl, config.id), [widgetJsUrl, config.id]);

  useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      if (event.source === frame.current?.contentWindow && (event.data as { type?: string })?.type === "preview-ready") {
        setReady(true);
      }
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, []);

  // Typing fast redraws once it pauses (a short wait), not on every key.
  useEffect(() => {
    if (!ready) return;
    const timer = window.setTimeout(() => {
      frame.current?.contentWindow?.postMessage({ type: "preview", config, mode }, "*");
    }, 120);
    return () => window.clearTimeout(timer);
  }, [config, mode, ready]);

  return (
    <iframe
      ref={frame}
      className="preview-frame"
      title="Live preview of the widget"
      sandbox="allow-scripts"
      srcDoc={html}
    />
  );
}
