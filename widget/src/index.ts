// Entry point: <script src="https://HOST/widget.js" data-widget-id="UUID" defer></script>
// Optional: data-api-base (defaults to the script's own origin), data-mode="inline" with
// data-target="#css-selector". Defines nothing global but window.ChatWidget.

import { Api, ApiError } from "./api";
import type { WidgetConfig } from "./state";
import { type EventName, type Mode, Widget } from "./ui";

interface ChatWidgetApi {
  open(): void;
  close(): void;
  toggle(): void;
  send(text: string): Promise<void>;
  on(name: EventName, listener: (detail: unknown) => void): () => void;
}

declare global {
  interface Window {
    ChatWidget?: ChatWidgetApi;
  }
}

const CONFIG_CACHE = (id: string): string => `chat-widget:${id}:config`;

function findScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement && current.dataset.widgetId) return current;
  return document.querySelector<HTMLScriptElement>("script[data-widget-id]");
}

function cachedConfig(id: string): WidgetConfig | null {
  try {
    const raw = window.localStorage.getItem(CONFIG_CACHE(id));
    return raw ? (JSON.parse(raw) as WidgetConfig) : null;
  } catch {
    return null;
  }
}

function boot(): void {
  if (window.ChatWidget) return; // loaded twice: keep the first
  const script = findScript();
  const widgetId = script?.dataset.widgetId;
  if (!script || !widgetId) {
    console.warn("ChatWidget: add data-widget-id to the script tag");
    return;
  }
  const apiBase = script.dataset.apiBase || new URL(script.src, location.href).origin;
  const inline = script.dataset.mode === "inline";
  const target = inline && script.dataset.target ? document.querySelector(script.dataset.target) : null;
  if (inline && !target) console.warn("ChatWidget: data-target not found; showing the launcher instead");
  const mode: Mode = inline && target ? "inline" : "launcher";
  const api = new Api(apiBase, widgetId);
  const widget = new Widget(api, widgetId, mode, target ?? document.body);
  widget.host.style.setProperty("visibility", "hidden", "important");

  const show = (config: WidgetConfig): void => {
    widget.applyConfig(config);
    widget.host.style.removeProperty("visibility");
  };
  const cached = cachedConfig(widgetId);
  if (cached) show(cached); // a returning visitor sees the launcher at once, then fresh settings
  api.config().then(
    (config) => {
      show(config);
      try {
        window.localStorage.setItem(CONFIG_CACHE(widgetId), JSON.stringify(config));
      } catch {
        // Storage unavailable: nothing to cache.
      }
    },
    (error: unknown) => {
      if (error instanceof ApiError && error.status === 404) {
        widget.host.remove();
        try {
          window.localStorage.removeItem(CONFIG_CACHE(widgetId));
        } catch {
          // Nothing cached.
        }
        console.warn("ChatWidget: this widget does not exist or is no longer available");
      }
    },
  );

  window.ChatWidget = {
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    send: (text: string) => widget.send(text),
    on: (name, listener) => widget.on(name, listener),
  };
}

if (document.body) boot();
else document.addEventListener("DOMContentLoaded", boot, { once: true });
