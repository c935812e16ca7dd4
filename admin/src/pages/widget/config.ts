// Every setting the admin API takes for a widget, as form fields keyed by their API path (so a 422's
// `loc` finds its field), and the conversions between the form's text and the API's JSON.
import type { WidgetConfig, WidgetOut } from "../../api/widgets";
// The widget's own UI strings and their defaults (one source: the widget reads these keys).
import { DEFAULT_STRINGS } from "../../../../widget/src/state";

export type Kind = "text" | "long" | "url" | "color" | "int" | "decimal" | "lines" | "select" | "datetime";
export type FormValues = Record<string, string>;

export interface FieldDef {
  key: string;
  label: string;
  kind: Kind;
  hint?: string;
  options?: [value: string, label: string][];
  required?: boolean;
  /** Optional numbers: empty means "none" (the API's null), not the default. */
  nullable?: boolean;
  step?: string;
}

export interface Section {
  id: string;
  title: string;
  intro?: string;
  fields: FieldDef[];
}

const rate = (key: string, label: string, fallback: number): FieldDef => ({
  key: `config.rate_limit.${key}`,
  label,
  kind: "int",
  hint: `Per minute. Empty: the default (${fallback}).`,
});

export const SECTIONS: Section[] = [
  {
    id: "basics",
    title: "Widget",
    fields: [
      { key: "name", label: "Name", kind: "text", required: true },
      {
        key: "webhook_url",
        label: "Webhook URL",
        kind: "url",
        required: true,
        hint: "The n8n workflow's webhook. A new URL is tested when you save.",
      },
      {
        key: "expires_at",
        label: "Stop serving at",
        kind: "datetime",
        hint: "Your local time. Empty: never. (A demo's expiry is set with its time to live.)",
      },
    ],
  },
  {
    id: "look",
    title: "Look",
    fields: [
      { key: "config.title", label: "Title", kind: "text" },
      { key: "config.subtitle", label: "Subtitle", kind: "text" },
      { key: "config.avatar_url", label: "Avatar image URL", kind: "url", hint: "https:// image shown in the header. Empty: none." },
      { key: "config.launcher_icon", label: "Launcher icon URL", kind: "url", hint: "https:// image on the chat button. Empty: the default icon." },
      { key: "config.position", label: "Position", kind: "select", options: [["right", "Bottom right"], ["left", "Bottom left"]] },
      { key: "config.theme.primary_color", label: "Primary color", kind: "color", hint: "Buttons, the header and your visitor's bubbles." },
      { key: "config.theme.on_primary_color", label: "Text on primary color", kind: "color" },
      { key: "config.theme.text_color", label: "Text color", kind: "color" },
      { key: "config.theme.background_color", label: "Background color", kind: "color" },
      { key: "config.theme.bot_bubble_color", label: "Bot bubble color", kind: "color" },
      { key: "config.theme.font_family", label: "Font family", kind: "text", hint: "A CSS font-family list." },
      { key: "config.theme.corner_radius", label: "Corner radius (px)", kind: "int", hint: "0 to 32." },
    ],
  },
  {
    id: "words",
    title: "First words",
    fields: [
      { key: "config.welcome_message", label: "Welcome message", kind: "long", hint: "A line above the conversation." },
      { key: "config.first_message", label: "First message", kind: "long", hint: "The bot's first bubble." },
      { key: "config.starter_prompts", label: "Starter prompts", kind: "lines", hint: "One per line, at most 8: buttons a visitor can tap." },
      { key: "config.placeholder", label: "Message placeholder", kind: "text" },
      { key: "config.fallback_message", label: "Fallback message", kind: "long", hint: "Shown when the workflow fails or is too slow." },
    ],
  },
  {
    id: "language",
    title: "Language",
    fields: [
      { key: "config.locale", label: "Locale", kind: "text", hint: "A language tag such as en, de or pt-BR." },
      { key: "config.direction", label: "Text direction", kind: "select", options: [["ltr", "Left to right"], ["rtl", "Right to left"]] },
    ],
  },
  {
    id: "assistant",
    title: "Assistant (private: never sent to browsers)",
    fields: [
      { key: "config.prompt", label: "Persona prompt", kind: "long", hint: "Sent to the workflow with each message." },
      { key: "config.personality", label: "Personality", kind: "long" },
      {
        key: "config.low_confidence_threshold",
        label: "Low-confidence threshold",
        kind: "decimal",
        step: "0.05",
        hint: "0 to 1. Replies below it count as knowledge gaps in analytics.",
      },
    ],
  },
  {
    id: "limits",
    title: "Security and limits",
    fields: [
      {
        key: "config.allowed_origins",
        label: "Allowed origins",
        kind: "lines",
        hint: "One per line, such as https://www.example.com. Empty: any site may embed it.",
      },
      rate("per_session_per_minute", "Messages per visitor session", 20),
      rate("per_ip_per_minute", "Messages per address", 60),
      rate("per_ip_sessions_per_minute", "Session starts per address", 30),
      rate("per_ip_reads_per_minute", "History reads per address", 120),
      rate("per_ip_feedback_per_minute", "Feedback per address", 60),
      {
        key: "config.retention_days",
        label: "Keep conversations (days)",
        kind: "int",
        nullable: true,
        hint: "1 to 3,650. Empty: keep them forever.",
      },
    ],
  },
];

export const STRING_KEYS = Object.keys(DEFAULT_STRINGS) as (keyof typeof DEFAULT_STRINGS)[];
export const STRING_DEFAULTS: Record<string, string> = DEFAULT_STRINGS;
const ALL_FIELDS = SECTIONS.flatMap((s) => s.fields);

function getPath(source: unknown, path: string[]): unknown {
  return path.reduce<unknown>((value, key) => (value && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), source);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/** The form's text for a widget as the API gave it. */
export function toForm(widget: WidgetOut): FormValues {
  const values: FormValues = {};
  for (const field of ALL_FIELDS) {
    const value = getPath(widget, field.key.split("."));
    if (field.kind === "datetime") {
      values[field.key] = typeof value === "string" ? toLocalInput(value) : "";
      continue;
    }
    values[field.key] = Array.isArray(value) ? value.join("\n") : value === null || value === undefined ? "" : String(value);
  }
  for (const key of STRING_KEYS) values[`config.strings.${key}`] = widget.config.strings?.[key] ?? "";
  return values;
}

/** An ISO time as a datetime-local input's value, in the browser's time zone. */
function toLocalInput(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local input's value as an ISO time with its offset (empty: null). */
export function fromLocalInput(value: string): string | null {
  if (!value.trim()) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

function fromText(field: FieldDef, text: string): unknown {
  const trimmed = text.trim();
  switch (field.kind) {
    case "int":
    case "decimal":
      // Empty: null (none, or back to the default). Not a number: sent as typed, so the API's
      // message says what is wrong at the field.
      if (!trimmed) return null;
      return Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
    case "lines":
      return text.split("\n").map((line) => line.trim()).filter(Boolean);
    case "url":
      return field.key.startsWith("config.") ? trimmed || null : trimmed;
    default:
      return text;
  }
}

/** The config to PATCH: every key, so the saved widget is exactly the form (null: back to default). */
export function toConfigPatch(values: FormValues): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of ALL_FIELDS) {
    if (!field.key.startsWith("config.")) continue;
    setPath(config, field.key.split(".").slice(1), fromText(field, values[field.key] ?? ""));
  }
  config.strings = Object.fromEntries(
    STRING_KEYS.map((key) => [key, values[`config.strings.${key}`]?.trim() ? values[`config.strings.${key}`] : null]),
  );
  return config;
}

/** The config as the preview draws it: unsaved values, defaults where a value is empty. */
export function previewConfig(values: FormValues, saved: WidgetConfig): WidgetConfig {
  const patch = toConfigPatch(values);
  const theme = { ...saved.theme!, ...(patch.theme as object) };
  const strings = Object.fromEntries(
    Object.entries(patch.strings as Record<string, string | null>).filter((entry): entry is [string, string] => entry[1] !== null),
  );
  return { ...saved, ...(patch as Partial<WidgetConfig>), theme, strings };
}

/** WCAG contrast ratio of two #rrggbb colours (1 to 21). */
export function contrast(a: string, b: string): number | null {
  const lum = (hex: string) => {
    const m = /^#([0-9a-f]{6})$/i.exec(hex.trim());
    if (!m) return null;
    const [r, g, bl] = [0, 2, 4].map((i) => {
      const c = parseInt(m[1].slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const la = lum(a);
  const lb = lum(b);
  if (la === null || lb === null) return null;
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
