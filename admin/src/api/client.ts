// The one way the SPA calls the platform's API: JSON in and out, the session's bearer token, and
// the platform's error envelope turned into an ApiError. Types come from ./types.ts (generated).
import type { components } from "./types";

export type Schemas = components["schemas"];
export type User = Schemas["UserOut"];
export type LoginResponse = Schemas["LoginResponse"];
export type Client = Schemas["ClientDetail"];
export type ClientCreate = Schemas["ClientCreate"];
export type ClientUpdate = Schemas["ClientUpdate"];
export type ClientPage = Schemas["Page_ClientDetail_"];
export type DeletedCounts = Schemas["DeletedCounts"];
export type WidgetSummary = Schemas["WidgetSummary"];
export type WidgetPage = Schemas["Page_WidgetSummary_"];
export type WidgetCreateRequest = Schemas["WidgetCreateRequest"];
export type WidgetCreated = Schemas["WidgetCreated"];
export type WidgetEmbed = Schemas["WidgetEmbed"];
export type HealthStatus = WidgetSummary["health_status"];

/** One problem with one input field, as the API's 422 `details` give it. */
export interface FieldProblem {
  loc: string[];
  msg: string;
  type: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }

  /** The 422 problems by field path without the leading "body" (e.g. "config.theme.primary_color"). */
  fieldErrors(): Record<string, string> {
    const found: Record<string, string> = {};
    for (const problem of this.details) {
      const path = problem.loc.filter((part, i) => !(i === 0 && part === "body")).join(".");
      if (path && !(path in found)) found[path] = problem.msg;
    }
    return found;
  }
}

type Unauthorized = () => void;
let onUnauthorized: Unauthorized = () => {};
let bearer: string | null = null;

/** The session sets who is calling and what happens when the API stops accepting that token. */
export function configureApi(token: string | null, unauthorized: Unauthorized): void {
  bearer = token;
  onUnauthorized = unauthorized;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  /** Sign-in itself: a 401 there is a wrong password, not an ended session. */
  anonymous?: boolean;
  signal?: AbortSignal;
  /** A download (a CSV): resolve with the Response itself rather than its JSON. */
  raw?: boolean;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (bearer && !options.anonymous) headers.Authorization = `Bearer ${bearer}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server could not be reached. Check your connection and try again.");
  }
  if (response.ok) return (options.raw ? response : await response.json()) as T;
  const body = (await response.json().catch(() => null)) as {
    error?: { code?: string; message?: string; details?: FieldProblem[] };
  } | null;
  const error = new ApiError(
    response.status,
    body?.error?.code ?? "http_error",
    body?.error?.message ?? `The server answered ${response.status}.`,
    body?.error?.details ?? [],
  );
  // A wrong current password (changing it) is a 401 too, but the session is still good.
  if (response.status === 401 && !options.anonymous && error.code !== "invalid_credentials") onUnauthorized();
  throw error;
}
