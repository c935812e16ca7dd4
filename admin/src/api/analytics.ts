// The analytics API (`/v1/analytics`): its types (generated), the range a page asks for, and the CSV
// exports, downloaded with the session's token (fetch + blob, never a bare link).
import { api, type RequestOptions, type Schemas } from "./client";

export type WidgetAnalytics = Schemas["WidgetAnalytics"];
export type ClientAnalytics = Schemas["ClientAnalytics"];
export type AnalyticsWidgetList = Schemas["WidgetList"];
export type WidgetChats = Schemas["WidgetChats"];
export type Metrics = Schemas["Metrics"];
export type DailyMetrics = Schemas["DailyMetrics"];
export type KnowledgeGap = Schemas["KnowledgeGap"];
export type TopQuestion = Schemas["TopQuestion"];
export type TopTopic = Schemas["TopTopic"];

export const PRESET_DAYS = [7, 30, 90] as const;
export const DEFAULT_DAYS = 30;
/** The API refuses longer ranges. */
export const MAX_DAYS = 366;

/** The time zone the browser runs in (UTC if it does not say). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every IANA zone the browser knows, with `current` always among them. */
export function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    // An old browser: the zone in use and UTC.
  }
  const all = new Set([...zones, "UTC", current]);
  return [...all].sort();
}

/** Today's date (YYYY-MM-DD) in `tz`. */
export function todayIn(tz: string, now = new Date()): string {
  try {
    // en-CA writes dates as YYYY-MM-DD.
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  } catch {
    return now.toISOString().slice(0, 10);
  }
}

/** `iso` (YYYY-MM-DD) moved by `days` calendar days. */
export function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isIsoDate(value: string | null): value is string {
  return value !== null && ISO_DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

/** What a page asks for: a preset (the last N days up to today) or a custom from/to, in a zone. */
export interface RangeChoice {
  preset: number | null;
  from: string;
  to: string;
  tz: string;
}

/** The range in the page's address (`?days=7`, or `?from=…&to=…`, and `&tz=…`); 30 days by default. */
export function rangeFromParams(params: URLSearchParams, now = new Date()): RangeChoice {
  const tz = params.get("tz") || browserTimeZone();
  const from = params.get("from");
  const to = params.get("to");
  if (isIsoDate(from) && isIsoDate(to) && from <= to) return { preset: null, from, to, tz };
  const asked = Number(params.get("days"));
  const days = (PRESET_DAYS as readonly number[]).includes(asked) ? asked : DEFAULT_DAYS;
  const today = todayIn(tz, now);
  return { preset: days, from: addDays(today, 1 - days), to: today, tz };
}

/** The address parameters for a choice (the inverse of rangeFromParams). */
export function rangeParams(choice: { preset: number | null; from?: string; to?: string; tz: string }): URLSearchParams {
  const params = new URLSearchParams();
  if (choice.preset !== null) params.set("days", String(choice.preset));
  else {
    params.set("from", choice.from ?? "");
    params.set("to", choice.to ?? "");
  }
  if (choice.tz !== browserTimeZone()) params.set("tz", choice.tz);
  return params;
}

/** The API's query for a range. */
export function rangeQuery(choice: RangeChoice): NonNullable<RequestOptions["query"]> {
  return { from: choice.from, to: choice.to, tz: choice.tz };
}

export const widgetPath = (widgetId: string) => `/v1/analytics/widgets/${encodeURIComponent(widgetId)}`;
export const clientPath = (clientId: string) => `/v1/analytics/clients/${encodeURIComponent(clientId)}`;

/** The file name the API gives in Content-Disposition, or `fallback`. */
function fileName(response: Response, fallback: string): string {
  const header = response.headers.get("Content-Disposition") ?? "";
  const match = /filename="?([^";]+)"?/i.exec(header);
  return match ? match[1] : fallback;
}

/** Fetch `path` as CSV with the session's token and hand it to the browser as a download. */
export async function downloadCsv(path: string, choice: RangeChoice, fallbackName: string): Promise<string> {
  const response = await api<Response>(path, { query: { ...rangeQuery(choice), format: "csv" }, raw: true });
  const name = fileName(response, fallbackName);
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    // Give the browser a moment to start the download before the blob goes.
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return name;
}
