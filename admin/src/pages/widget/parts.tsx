// Pieces the widget pages share: the secret shown once, a webhook test's result, the embed snippet,
// and the API's errors turned into messages per field.
import { ApiError, type WidgetEmbed } from "../../api/client";
import { useApi } from "../../api/useApi";
import type { DeletedCounts, WebhookTestResult } from "../../api/widgets";
import { CopyButton } from "../../components/CopyButton";
import { errorKindLabel } from "../../api/ops";
import { HealthBadge } from "../../components/HealthBadge";
import { count, formatNumber } from "../../format";

export type FieldErrors = Record<string, string>;

/** An error of a save, by field path ("config.theme.corner_radius"), or at "form" when not a field's. */
export function saveErrors(reason: unknown, fallback: string): FieldErrors {
  if (!(reason instanceof ApiError)) return { form: fallback };
  if (reason.status === 422) {
    const fields = reason.fieldErrors();
    return Object.keys(fields).length ? fields : { form: reason.message };
  }
  if (reason.code === "widget_name_taken") return { name: reason.message };
  if (reason.code === "client_not_found") return { client_id: reason.message };
  return { form: reason.message };
}

/** One sentence for an action's failure (not a form's): every message the API gave. */
export function errorMessage(reason: unknown, fallback: string): string {
  return Object.values(saveErrors(reason, fallback)).join(" ");
}

/** The error at `key` or below it (a list's item: "config.starter_prompts.2" is shown as item 3). */
export function errorAt(errors: FieldErrors, key: string): string | undefined {
  if (errors[key]) return errors[key];
  for (const [path, message] of Object.entries(errors)) {
    if (!path.startsWith(`${key}.`)) continue;
    const rest = path.slice(key.length + 1);
    return /^\d+$/.test(rest) ? `Line ${Number(rest) + 1}: ${message}` : `${rest}: ${message}`;
  }
  return undefined;
}

export function FormProblems({ errors }: { errors: FieldErrors }) {
  const count = Object.keys(errors).length;
  return (
    <div role="alert" className="notice-region">
      {count > 0 && <p className="notice notice--error">{errors.form ?? "Check the fields marked below."}</p>}
    </div>
  );
}

export function SecretReveal({ secret, heading = "Widget secret" }: { secret: string; heading?: string }) {
  return (
    <div className="card secret-card">
      <h2>{heading}</h2>
      <p className="warning">
        <strong>Copy it now: you will not see it again.</strong> Put it in the n8n workflow's JWT Auth credential
        (passphrase). If it is lost, rotate the secret.
      </p>
      <label htmlFor="widget-secret">Secret</label>
      <div className="copy-row">
        <input id="widget-secret" className="mono" readOnly value={secret} onFocus={(e) => e.target.select()} />
        <CopyButton text={secret} label="Copy secret" />
      </div>
    </div>
  );
}

/** What a webhook probe saw: passed or failed, the kind of failure, HTTP status and latency. */
export function WebhookTestOutcome({ test }: { test: WebhookTestResult }) {
  return (
    <div className="test-result">
      <p>
        <HealthBadge status={test.ok ? "healthy" : "failing"} />{" "}
        {test.ok ? (
          <>The webhook answered in {formatNumber(test.latency_ms)} ms.</>
        ) : (
          <>The webhook failed. The widget is flagged failing until a check passes.</>
        )}
      </p>
      <dl className="facts">
        <div>
          <dt>Kind</dt>
          <dd>{test.ok ? "OK" : test.error_type ? `${errorKindLabel(test.error_type)} (${test.error_type})` : "Error"}</dd>
        </div>
        <div>
          <dt>HTTP status</dt>
          <dd>{test.status ?? "none"}</dd>
        </div>
        <div>
          <dt>Latency</dt>
          <dd>{formatNumber(test.latency_ms)} ms</dd>
        </div>
        {test.detail && (
          <div>
            <dt>Detail</dt>
            <dd>{test.detail}</dd>
          </div>
        )}
      </dl>
    </div>
  );
}

/** The embed snippet with its copy button (loaded from the API, which knows the public URLs). */
export function EmbedSnippet({ widgetId }: { widgetId: string }) {
  const embed = useApi<WidgetEmbed>(`/v1/admin/widgets/${encodeURIComponent(widgetId)}/embed`);
  if (embed.error) {
    return <p className="notice notice--error">The snippet could not be loaded: {embed.error.message}</p>;
  }
  if (!embed.data) return <p role="status">Loading the snippet…</p>;
  return <SnippetBox snippet={embed.data.snippet} />;
}

export function SnippetBox({ snippet }: { snippet: string }) {
  return (
    <>
      <p>Paste this tag into the client's site, before the closing &lt;/body&gt; tag.</p>
      <label htmlFor="embed-snippet">Snippet</label>
      <textarea id="embed-snippet" className="mono" readOnly rows={3} value={snippet} />
      <CopyButton text={snippet} label="Copy snippet" />
    </>
  );
}

const unitFormats = new Map<string, Intl.NumberFormat>();
function unit(value: number, name: "day" | "hour" | "minute"): string {
  if (!unitFormats.has(name)) unitFormats.set(name, new Intl.NumberFormat(undefined, { style: "unit", unit: name, unitDisplay: "long" }));
  return unitFormats.get(name)!.format(value);
}

/** "2 days, 3 hours left", "45 minutes left" or "Expired" (numbers in the browser's locale). */
export function timeLeft(expiresAt: string | null, now = Date.now()): string {
  if (!expiresAt) return "Never expires";
  const minutes = Math.floor((new Date(expiresAt).getTime() - now) / 60_000);
  if (minutes <= 0) return "Expired";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${unit(days, "day")}${hours ? `, ${unit(hours, "hour")}` : ""} left`;
  if (hours > 0) return `${unit(hours, "hour")}${minutes % 60 ? `, ${unit(minutes % 60, "minute")}` : ""} left`;
  return `${unit(minutes, "minute")} left`;
}

export const TTL_CHOICES: [hours: number, label: string][] = [
  [24, "1 day"],
  [72, "3 days"],
  [168, "7 days"],
  [336, "14 days"],
  [720, "30 days (the most)"],
];

/** What a delete removed, as the API counted it: "1 widget, 12 conversation messages, …". */
export function describeCounts(counts: DeletedCounts): string {
  const parts = [
    count(counts.widgets, "widget"),
    count(counts.chat_logs, "chat message"),
    count(counts.analytics, "analytics row"),
    count(counts.webhook_errors, "webhook error"),
  ];
  return parts.join(", ");
}
