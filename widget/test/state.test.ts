import { describe, expect, it } from "vitest";
import {
  DEFAULT_STRINGS, canSend, classifyFailure, format, fromHistory, needsRenewal, readSession,
  retryAfterSeconds, strings,
} from "../src/state";

describe("strings", () => {
  it("lets the widget config override any UI string, ignoring unknown and empty ones", () => {
    const t = strings({ send: "Senden", bogus: "x", retry: "  " });
    expect(t.send).toBe("Senden");
    expect(t.retry).toBe(DEFAULT_STRINGS.retry);
    expect("bogus" in t).toBe(false);
  });

  it("formats placeholders", () => {
    expect(format("wait {seconds} s, {who}", { seconds: 5 })).toBe("wait 5 s, {who}");
  });
});

describe("failures", () => {
  it("shows the widget's fallback on 502 and 504", () => {
    const body = { error: { code: "bot_unavailable", message: "We'll be right back" } };
    expect(classifyFailure(502, body, null)).toEqual({ kind: "fallback", message: "We'll be right back" });
    expect(classifyFailure(504, body, null)).toEqual({ kind: "fallback", message: "We'll be right back" });
  });

  it("respects Retry-After on 429", () => {
    expect(classifyFailure(429, null, "17")).toEqual({ kind: "rate_limited", seconds: 17 });
    expect(retryAfterSeconds(null)).toBe(5);
    expect(retryAfterSeconds("0.2")).toBe(1);
    expect(retryAfterSeconds("99999")).toBe(3600);
    const now = Date.parse("2026-11-21T12:00:00Z");
    expect(retryAfterSeconds("Sat, 21 Nov 2026 12:00:30 GMT", now)).toBe(30);
    expect(retryAfterSeconds("soon")).toBe(5);
  });

  it("tells network errors, long messages and sessions apart", () => {
    expect(classifyFailure(null, null, null).kind).toBe("network");
    expect(classifyFailure(413, null, null).kind).toBe("too_long");
    expect(classifyFailure(401, null, null).kind).toBe("session");
    expect(classifyFailure(500, null, null).kind).toBe("network");
    expect(classifyFailure(502, "<html>proxy</html>", null).kind).toBe("network");
    expect(classifyFailure(422, null, null).kind).toBe("other");
  });
});

describe("sending", () => {
  it("is allowed only with text, when idle and not rate limited", () => {
    expect(canSend("hi", false, 0)).toBe(true);
    expect(canSend("   \n", false, 0)).toBe(false);
    expect(canSend("hi", true, 0)).toBe(false);
    expect(canSend("hi", false, 2000, 1000)).toBe(false);
    expect(canSend("hi", false, 2000, 2000)).toBe(true);
  });
});

describe("sessions and history", () => {
  it("reads only well-formed stored sessions", () => {
    const good = { sessionId: "a", token: "t", expiresAt: "2026-11-22T00:00:00Z" };
    expect(readSession(JSON.stringify(good))).toEqual(good);
    expect(readSession("{not json")).toBeNull();
    expect(readSession(JSON.stringify({ sessionId: 1 }))).toBeNull();
    expect(readSession(null)).toBeNull();
  });

  it("renews a token in its last five minutes", () => {
    const session = { sessionId: "a", token: "t", expiresAt: "2026-11-21T12:10:00Z" };
    expect(needsRenewal(session, Date.parse("2026-11-21T12:00:00Z"))).toBe(false);
    expect(needsRenewal(session, Date.parse("2026-11-21T12:06:00Z"))).toBe(true);
  });

  it("turns history into the visitor's and the bot's turns", () => {
    const messages = fromHistory(
      [
        { message_id: "1", message: "hi", reply: "hello", status: "answered", feedback: "up" },
        { message_id: "2", message: "again?", reply: null, status: "failed", feedback: null },
      ],
      "not delivered",
    );
    expect(messages.map((m) => [m.role, m.text])).toEqual([
      ["user", "hi"], ["bot", "hello"], ["user", "again?"], ["fallback", "not delivered"],
    ]);
    expect(messages[1]).toMatchObject({ messageId: "1", feedback: "up" });
  });
});
