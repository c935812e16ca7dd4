// Pure conversation logic: no DOM, no network, so it is unit-tested directly.

import type { components } from "./api-types";

// Generated from the API's OpenAPI (`make api-types`), never copied by hand.
export type Theme = components["schemas"]["WidgetTheme"];
export type WidgetConfig = components["schemas"]["PublicWidgetConfig"];

export type Role = "user" | "bot" | "fallback";

export interface Message {
  key: string;
  role: Role;
  text: string;
  messageId?: string;
  feedback?: "up" | "down" | null;
}

export interface HistoryItem {
  message_id: string;
  message: string;
  reply: string | null;
  status: "answered" | "failed";
  feedback: "up" | "down" | null;
}

export const DEFAULT_STRINGS = {
  openChat: "Open chat",
  closeChat: "Close chat",
  chatWindow: "Chat",
  messageLabel: "Message",
  send: "Send",
  typing: "Typing…",
  helpful: "Helpful",
  notHelpful: "Not helpful",
  retry: "Try again",
  networkError: "Can't reach the chat right now. Check your connection and try again.",
  rateLimited: "You're sending messages quickly. You can send again in {seconds} s.",
  tooLong: "That message is too long (4,000 characters at most).",
  genericError: "Something went wrong. Please try again.",
  unavailableReply: "This reply could not be delivered.",
  demoBanner: "Demo widget, available until {date}",
  newMessage: "New message: {text}",
};

export type Strings = typeof DEFAULT_STRINGS;

/** The UI strings, with the widget's `config.strings` overriding the defaults key by key. */
export function strings(overrides: Record<string, string> | undefined): Strings {
  const out: Strings = { ...DEFAULT_STRINGS };
  for (const key of Object.keys(DEFAULT_STRINGS) as (keyof Strings)[]) {
    const value = overrides?.[key];
    if (typeof value === "string" && value.trim()) out[key] = value;
  }
  return out;
}

export function format(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date), bounded to 1..3600. */
export function retryAfterSeconds(header: string | null, now: number = Date.now()): number {
  if (!header) return 5;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(3600, Math.max(1, Math.ceil(seconds)));
  const date = Date.parse(header);
  if (Number.isFinite(date)) return Math.min(3600, Math.max(1, Math.ceil((date - now) / 1000)));
  return 5;
}

export type Failure =
  | { kind: "fallback"; message: string }
  | { kind: "rate_limited"; seconds: number }
  | { kind: "too_long" }
  | { kind: "session" }
  | { kind: "network" }
  | { kind: "other" };

/** What the visitor should see for a failed send, from the HTTP status and error body. */
export function classifyFailure(status: number | null, body: unknown, retryAfter: string | null): Failure {
  if (status === null) return { kind: "network" };
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if ((status === 502 || status === 504) && typeof error?.message === "string") {
    return { kind: "fallback", message: error.message };
  }
  if (status === 429) return { kind: "rate_limited", seconds: retryAfterSeconds(retryAfter) };
  if (status === 413) return { kind: "too_long" };
  if (status === 401) return { kind: "session" };
  if (status >= 500) return { kind: "network" };
  return { kind: "other" };
}

export function canSend(text: string, busy: boolean, blockedUntil: number, now: number = Date.now()): boolean {
  return !busy && text.trim().length > 0 && now >= blockedUntil;
}

/** Restored messages from GET messages: each exchange becomes the visitor's and the bot's turn. */
export function fromHistory(items: HistoryItem[], unavailable: string): Message[] {
  const out: Message[] = [];
  for (const item of items) {
    out.push({ key: `${item.message_id}:q`, role: "user", text: item.message });
    if (item.status === "answered" && item.reply !== null) {
      out.push({
        key: `${item.message_id}:a`, role: "bot", text: item.reply,
        messageId: item.message_id, feedback: item.feedback,
      });
    } else {
      out.push({ key: `${item.message_id}:a`, role: "fallback", text: unavailable });
    }
  }
  return out;
}

export interface StoredSession {
  sessionId: string;
  token: string;
  expiresAt: string;
}

export function storageKey(widgetId: string): string {
  return `chat-widget:${widgetId}:session`;
}

export function readSession(raw: string | null): StoredSession | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof value.sessionId === "string" && typeof value.token === "string" && typeof value.expiresAt === "string") {
      return { sessionId: value.sessionId, token: value.token, expiresAt: value.expiresAt };
    }
  } catch {
    // A corrupted entry is the same as none.
  }
  return null;
}

/** Renew a little before expiry so a message never races the token's end. */
export function needsRenewal(session: StoredSession, now: number = Date.now()): boolean {
  return Date.parse(session.expiresAt) - now < 5 * 60 * 1000;
}
