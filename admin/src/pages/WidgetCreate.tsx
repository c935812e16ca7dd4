// Create a widget: the API's 422s shown at their fields; then the secret (once), the webhook test and
// the snippet, and a link to the widget's page for every other setting.
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api, type WidgetCreated, type WidgetCreateRequest } from "../api/client";
import { useClientChoices } from "../api/clients";
import { Field, SelectField } from "../components/Field";
import { PageTitle } from "../components/Layout";
import { ErrorState, Loading } from "../components/states";
import { EmbedSnippet, FormProblems, saveErrors, SecretReveal, WebhookTestOutcome } from "./widget/parts";

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
  const [created, setCreated] = useState<WidgetCreated | null>(null);

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
      setCreated(await api<WidgetCreated>("/v1/admin/widgets", { method: "POST", body }));
    } catch (reason) {
      setErrors(saveErrors(reason, "The widget could not be created."));
    } finally {
      setBusy(false);
    }
  }

  if (created) return <CreatedWidget widget={created} />;
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
          <FormProblems errors={errors} />
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

function CreatedWidget({ widget }: { widget: WidgetCreated }) {
  return (
    <section>
      <PageTitle>{`Widget ${widget.name} created`}</PageTitle>
      <SecretReveal secret={widget.widget_secret} />
      <div className="card">
        <h2>Webhook test</h2>
        <div role="status">
          <WebhookTestOutcome test={widget.webhook_test} />
        </div>
      </div>
      <div className="card">
        <h2>Embed snippet</h2>
        <EmbedSnippet widgetId={widget.id} />
      </div>
      <p className="link-row">
        <Link to={`/widgets/${widget.id}`}>Edit every setting, with a live preview</Link>
        <Link to={`/widgets?client_id=${widget.client_id}`}>Back to the client's widgets</Link>
      </p>
    </section>
  );
}
