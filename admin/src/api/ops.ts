// The operations pages' API: webhook health, webhook errors, conversations and transcripts, users.
// Every type comes from ./types.ts (generated from the OpenAPI).
import { api, type DeletedCounts, type Schemas, type WidgetPage, type WidgetSummary } from "./client";
import type { operations } from "./types";
import { count } from "../format";

export type WebhookError = Schemas["WebhookErrorOut"];
export type WebhookErrorPage = Schemas["CursorPage_WebhookErrorOut_"];
export type WebhookErrorKind = NonNullable<
  NonNullable<operations["list_webhook_errors_v1_admin_webhook_errors_get"]["parameters"]["query"]>["error_type"]
>;
export type Conversation = Schemas["Conversation"];
export type ConversationPage = Schemas["Page_Conversation_"];
export type ChatLog = Schemas["ChatLogOut"];
export type ChatLogPage = Schemas["CursorPage_ChatLogOut_"];
export type ChatLogBulkDelete = Schemas["ChatLogBulkDelete"];
export type UserOut = Schemas["UserOut"];
export type UserPage = Schemas["Page_UserOut_"];
export type UserCreate = Schemas["UserCreate"];
export type UserCreated = Schemas["UserCreated"];
export type Widget = Schemas["WidgetOut"];
export type WidgetTested = Schemas["WidgetTested"];

/** Every kind of webhook error the API files, with a label for people (the API's filter values). */
export const ERROR_KINDS: Record<WebhookErrorKind, string> = {
  timeout: "Timed out",
  unreachable: "Unreachable",
  tls: "TLS (certificate)",
  not_registered: "Workflow not active",
  http_4xx: "HTTP 4xx (refused)",
  http_5xx: "HTTP 5xx (server error)",
  workflow_error: "Workflow error",
  invalid_response: "Invalid response",
  unsupported_response: "Unsupported response",
  too_large: "Response too large",
  blocked_address: "Blocked address",
  overloaded: "Overloaded",
};

export function errorKindLabel(kind: string | null | undefined): string {
  if (!kind) return "—";
  return (ERROR_KINDS as Record<string, string>)[kind] ?? kind;
}

const ALL_PAGE = 200; // the API's largest page

/** Every widget (a few hundred at most for an agency), page after page. */
export async function fetchAllWidgets(signal?: AbortSignal): Promise<WidgetSummary[]> {
  const all: WidgetSummary[] = [];
  for (;;) {
    const page = await api<WidgetPage>("/v1/admin/widgets", { query: { limit: ALL_PAGE, offset: all.length }, signal });
    all.push(...page.items);
    if (page.items.length === 0 || all.length >= page.total) return all;
  }
}

const HEALTH_RANK: Record<WidgetSummary["health_status"], number> = { failing: 0, unknown: 1, healthy: 2 };

/** Failing first (the longest failing streak first), then never checked, then healthy; by name within. */
export function byHealth(a: WidgetSummary, b: WidgetSummary): number {
  return (
    HEALTH_RANK[a.health_status] - HEALTH_RANK[b.health_status] ||
    b.consecutive_failures - a.consecutive_failures ||
    a.name.localeCompare(b.name)
  );
}

/** Delete the chat logs of these sessions of a widget, in one request: all of them go, or none. */
export function deleteConversations(widgetId: string, sessionIds: string[]): Promise<DeletedCounts> {
  const body: ChatLogBulkDelete = { widget_id: widgetId, session_ids: sessionIds, all: false };
  return api<DeletedCounts>("/v1/admin/chat-logs/bulk-delete", { method: "POST", body });
}

/** Erase one visitor's conversation with a widget (a GDPR erasure; audited as such). */
export function eraseConversation(widgetId: string, sessionId: string): Promise<DeletedCounts> {
  return api<DeletedCounts>(`/v1/admin/widgets/${widgetId}/conversations/${encodeURIComponent(sessionId)}`, {
    method: "DELETE",
  });
}

/** A session id short enough for a table (they are 32 hex digits). */
export function shortSession(sessionId: string): string {
  return sessionId.length > 10 ? `${sessionId.slice(0, 8)}…` : sessionId;
}

/** A local calendar day (YYYY-MM-DD, from a date input) as the instant it starts; `plusDays` after. */
export function dayStart(day: string, plusDays = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

/** "1 message", "12 messages": what a chat log is to the people reading these pages. */
export function messages(value: number): string {
  return count(value, "message");
}
