// The admin API's widget routes as the widget pages use them; every type comes from ./types.ts.
import { api, type Schemas } from "./client";

export type WidgetOut = Schemas["WidgetOut"];
export type WidgetConfig = Schemas["WidgetConfig"];
export type WidgetTheme = Schemas["WidgetTheme"];
export type RateLimit = Schemas["RateLimitConfig"];
export type WidgetUpdate = Schemas["WidgetUpdate"];
export type WidgetSaved = Schemas["WidgetSaved"];
export type WidgetTested = Schemas["WidgetTested"];
export type WidgetWithSecret = Schemas["WidgetWithSecret"];
export type WebhookTestResult = Schemas["WebhookTestResult"];
export type WidgetsDeleted = Schemas["WidgetsDeleted"];
export type DemoWidgetCreateRequest = Schemas["DemoWidgetCreateRequest"];
export type PublicWidgetConfig = Schemas["PublicWidgetConfig"];
export type DeletedCounts = Schemas["DeletedCounts"];

const path = (id: string, tail = "") => `/v1/admin/widgets/${encodeURIComponent(id)}${tail}`;

export const widgetApi = {
  update: (id: string, body: WidgetUpdate) => api<WidgetSaved>(path(id), { method: "PATCH", body }),
  remove: (id: string) => api<DeletedCounts>(path(id), { method: "DELETE" }),
  rotateSecret: (id: string) => api<WidgetWithSecret>(path(id, "/rotate-secret"), { method: "POST" }),
  testWebhook: (id: string) => api<WidgetTested>(path(id, "/test-webhook"), { method: "POST" }),
  bulkDelete: (ids: string[]) =>
    api<WidgetsDeleted>("/v1/admin/widgets/bulk-delete", { method: "POST", body: { ids } }),
  createDemo: (body: DemoWidgetCreateRequest) =>
    api<Schemas["WidgetCreated"]>("/v1/admin/demo-widgets", { method: "POST", body }),
  purgeDemos: (expiredOnly: boolean) =>
    api<DeletedCounts>("/v1/admin/demo-widgets/purge", { method: "POST", body: { expired_only: expiredOnly } }),
  widgetPath: path,
};

/** What a browser would receive for this (possibly unsaved) config: the preview draws from it. */
export function publicConfig(widget: Pick<WidgetOut, "id" | "name" | "is_demo" | "expires_at">, config: WidgetConfig): PublicWidgetConfig {
  return {
    id: widget.id,
    name: widget.name,
    title: config.title,
    subtitle: config.subtitle,
    welcome_message: config.welcome_message,
    first_message: config.first_message,
    starter_prompts: config.starter_prompts ?? [],
    placeholder: config.placeholder,
    avatar_url: config.avatar_url || null,
    launcher_icon: config.launcher_icon || null,
    position: config.position,
    theme: config.theme!,
    strings: Object.fromEntries(Object.entries(config.strings ?? {}).filter(([, v]) => v.trim())),
    locale: config.locale,
    direction: config.direction,
    is_demo: widget.is_demo,
    demo_expires_at: widget.is_demo ? widget.expires_at : null,
  };
}
