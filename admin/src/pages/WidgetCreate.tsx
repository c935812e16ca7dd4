// Create a widget: the API's 422s shown at their fields; then the secret (once) and the snippet.
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ApiError, type WidgetCreated, type WidgetCreateRequest, type WidgetEmbed } from "../api/client";
import { useClientChoices } from "../api/clients";
import { CopyButton } from "../components/CopyButton";
import { Field, SelectField } from "../components/Field";
import { HealthBadge } from "../components/HealthBadge";
import { PageTitle } from "../components/Layout";
import { ErrorState, Loading } from "../components/states";
import { formatNumber } from "../format";

const DEFAULT_COLOR = "#1d4ed8";

export function WidgetCreate() {
  const [params] = useSearchParams();
  const clients = useClientChoices();
  const [clientId, setClientId] = useState(params.get("client_id") ?? "");
  const [name, setName] = useState("");
  const [webhookUrl, setWebhookUrl] = useState("");
  const [title, setTitle] = useState("Chat with us");
  const [welcome, setWelcome] = useState("");
  const [color, setColor] = useState(DEFAULT_COLOR);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ widget: WidgetCreated; embed: WidgetEmbed | null } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    const body: WidgetCreateRequest = {
      client_id: clientId,
      name: name.trim(),
      webhook_url: webhookUrl.trim(),
      is_active: true,
      // Only these keys: the server fills the rest with its defaults (the generated type lists them all).
      config: { title, welcome_message: welcome, theme: { primary_color: color } } as WidgetCreateRequest["config"],
    };
    try {
      const widget = await api<WidgetCreated>("/v1/admin/widgets", { method: "POST", body });
      const embed = await api<WidgetEmbed>(`/v1/admin/widgets/${widget.id}/embed`).catch(() => null);
      setCreated({ widget, embed });
    } catch (reason) {
      if (reason instanceof ApiError && reason.status === 422) {
        const fields = reason.fieldErrors();
        setErrors(Object.keys(fields).length ? fields : { form: reason.message });
      } else if (reason instanceof ApiError && reason.code === "widget_name_taken") {
        setErrors({ name: reason.message });
      } else if (reason instanceof ApiError && reason.code === "client_not_found") {
        setErrors({ client_id: reason.message });
      } else {
        setErrors({ form: reason instanceof ApiError ? reason.message : "The widget could not be created." });
      }
    } finally {
      setBusy(false);
    }
  }

  if (created) return <CreatedWidget widget={created.widget} embed={created.embed} />;
  if (clients.loading) return <Loading what="clients" />;
  if (clients.error) return <ErrorState error={clients.error} retry={clients.reload} what="clients" />;
  const choices = clients.data?.items ?? [];

  return (
    <section>
      <PageTitle>New widget</PageTitle>
      {choices.length === 0 ? (
        <div className="state state--empty">
          <p>
            <strong>A widget belongs to a client.</strong> <Link to="/clients/new">Create a client</Link> first.
          </p>
        </div>
      ) : (
        <form className="card form" onSubmit={submit} noValidate>
          <div role="alert" className="notice-region">
            {(errors.form || Object.keys(errors).length > 0) && (
              <p className="notice notice--error">{errors.form ?? "Check the fields marked below."}</p>
            )}
          </div>
          <SelectField label="Client" required value={clientId} onChange={setClientId} error={errors.client_id}>
            <option value="">Choose a client</option>
            {choices.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </SelectField>
          <Field label="Name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
          <Field
            label="Webhook URL"
            type="url"
            required
            inputMode="url"
            placeholder="https://n8n.example.com/webhook/…"
            value={webhookUrl}
            onChange={(e) => setWebhookUrl(e.target.value)}
            error={errors.webhook_url}
            hint="The n8n workflow's webhook (Chat Trigger or Webhook node). It is tested when you save."
          />
          <fieldset>
            <legend>Look and first words</legend>
            <Field label="Title" maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} error={errors["config.title"]} />
            <Field label="Welcome message" multiline value={welcome} onChange={(e) => setWelcome(e.target.value)} error={errors["config.welcome_message"]} />
            <Field
              label="Primary color"
              type="color"
              value={color}
              onChange={(e) => setColor(e.target.value)}
              error={errors["config.theme.primary_color"]}
              hint="Buttons and the header. Keep white text readable on it."
            />
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="button button--primary" disabled={busy}>
              {busy ? "Creating and testing the webhook…" : "Create widget"}
            </button>
            <Link className="button button--quiet" to="/widgets">
              Cancel
            </Link>
          </div>
        </form>
      )}
    </section>
  );
}

function CreatedWidget({ widget, embed }: { widget: WidgetCreated; embed: WidgetEmbed | null }) {
  const test = widget.webhook_test;
  return (
    <section>
      <PageTitle>{`Widget ${widget.name} created`}</PageTitle>
      <div className="card">
        <h2>Widget secret</h2>
        <p className="warning">
          <strong>Copy it now: you will not see it again.</strong> Put it in the n8n workflow's JWT Auth credential
          (passphrase). If it is lost, rotate the secret.
        </p>
        <label htmlFor="widget-secret">Secret</label>
        <div className="copy-row">
          <input id="widget-secret" className="mono" readOnly value={widget.widget_secret} onFocus={(e) => e.target.select()} />
          <CopyButton text={widget.widget_secret} label="Copy secret" />
        </div>
      </div>
      <div className="card">
        <h2>Webhook test</h2>
        <p role="status">
          <HealthBadge status={test.ok ? "healthy" : "failing"} />{" "}
          {test.ok
            ? `The webhook answered in ${formatNumber(test.latency_ms)} ms.`
            : `The webhook failed (${test.error_type ?? "error"}${test.status ? `, HTTP ${test.status}` : ""}): ${test.detail ?? "no detail"}. The widget is saved and flagged failing.`}
        </p>
      </div>
      <div className="card">
        <h2>Embed snippet</h2>
        {embed ? (
          <>
            <p>Paste this tag into the client's site, before the closing &lt;/body&gt; tag.</p>
            <label htmlFor="embed-snippet">Snippet</label>
            <textarea id="embed-snippet" className="mono" readOnly rows={3} value={embed.snippet} />
            <CopyButton text={embed.snippet} label="Copy snippet" />
          </>
        ) : (
          <p className="notice notice--error">The snippet could not be loaded. Open the widget again later.</p>
        )}
      </div>
      <p>
        <Link to={`/widgets?client_id=${widget.client_id}`}>Back to the client's widgets</Link>
      </p>
    </section>
  );
}
