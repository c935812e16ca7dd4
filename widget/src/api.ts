// The widget's calls to the platform's public API (DESIGN.md "Widget ↔ backend").

import type { HistoryItem, StoredSession, WidgetConfig } from "./state";

export class ApiError extends Error {
  constructor(
    readonly status: number | null,
    readonly body: unknown,
    readonly retryAfter: string | null,
  ) {
    super(status === null ? "network error" : `HTTP ${status}`);
  }
}

export interface SentMessage {
  message_id: string;
  reply: string;
  confidence: number | null;
  created_at: string;
}

export class Api {
  private readonly base: string;

  constructor(apiBase: string, widgetId: string) {
    this.base = `${apiBase.replace(/\/+$/, "")}/v1/widgets/${encodeURIComponent(widgetId)}`;
  }

  config(): Promise<WidgetConfig> {
    return this.request<WidgetConfig>("GET", "/config");
  }

  /** A new session, or the same one renewed when its id and token are given. */
  async session(previous: StoredSession | null): Promise<StoredSession> {
    const body = previous ? { session_id: previous.sessionId, token: previous.token } : {};
    const answer = await this.request<{ session_id: string; token: string; expires_at: string }>(
      "POST", "/sessions", body,
    );
    return { sessionId: answer.session_id, token: answer.token, expiresAt: answer.expires_at };
  }

  send(token: string, message: string): Promise<SentMessage> {
    const metadata = { page_url: location.href.slice(0, 2000), locale: navigator.language };
    return this.request<SentMessage>("POST", "/messages", { message, metadata }, token);
  }

  async history(token: string): Promise<HistoryItem[]> {
    const items: HistoryItem[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
      const answer: { messages: HistoryItem[]; next_cursor: string | null } = await this.request(
        "GET", `/messages${query}`, undefined, token,
      );
      items.push(...answer.messages);
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    return items;
  }

  feedback(token: string, messageId: string, value: "up" | "down"): Promise<unknown> {
    return this.request("POST", `/messages/${encodeURIComponent(messageId)}/feedback`, { value }, token);
  }

  private async request<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit",
      });
    } catch {
      throw new ApiError(null, null, null);
    }
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    if (!response.ok) throw new ApiError(response.status, parsed, response.headers.get("Retry-After"));
    return parsed as T;
  }
}
