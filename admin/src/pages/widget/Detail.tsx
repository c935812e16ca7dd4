// One widget (/admin/widgets/:widgetId, where the health-alert emails point): every setting in a
// form beside a live preview drawn by the real widget.js; health and the webhook test; activate or
// deactivate; the snippet; rotate the secret (shown once); a demo's expiry; delete.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import type { WidgetEmbed } from "../../api/client";
import { useClientChoices } from "../../api/clients";
import { useApi } from "../../api/useApi";
import { publicConfig, widgetApi, type WebhookTestResult, type WidgetOut } from "../../api/widgets";
import { ConfirmDialog } from "../../components/Dialog";
import { HealthBadge } from "../../components/HealthBadge";
import { PageTitle } from "../../components/Layout";
import { ErrorState, Loading } from "../../components/states";
import { WidgetPreview, type PreviewMode } from "../../components/WidgetPreview";
import { formatDateTime, formatNumber } from "../../format";
import { fromLocalInput, previewConfig, toConfigPatch, toForm, type FormValues } from "./config";
import { ConfigFields } from "./ConfigForm";
import { DemoExpiry } from "./DemoExpiry";
import {
  describeCounts,
  FormProblems,
  errorMessage,
  saveErrors,
  SecretReveal,
  SnippetBox,
  WebhookTestOutcome,
  type FieldErrors,
} from "./parts";

export function WidgetDetail() {
  const { widgetId = "" } = useParams();
  const loaded = useApi<WidgetOut>(widgetApi.widgetPath(widgetId));
  const [widget, setWidget] = useState<WidgetOut | null>(null);
  useEffect(() => setWidget(loaded.data), [loaded.data]);

  if (loaded.error) return <ErrorState error={loaded.error} retry={loaded.error.status === 404 ? undefined : loaded.reload} what="the widget" />;
  if (!widget) return <Loading what="the widget" />;
  return <WidgetPage key={widget.id} widget={widget} onChange={setWidget} />;
}

function WidgetPage({ widget, onChange }: { widget: WidgetOut; onChange(widget: WidgetOut): void }) {
  const embed = useApi<WidgetEmbed>(widgetApi.widgetPath(widget.id, "/embed"));
  const clients = useClientChoices();
  const clientName = clients.data?.items.find((c) => c.id === widget.client_id)?.name;
  const [notice, setNotice] = useState("");
  const [test, setTest] = useState<WebhookTestResult | null>(null);
  const [testing, setTesting] = useState(false);
  const [actionError, setActionError] = useState("");

  async function run(action: () => Promise<WidgetOut>, done: string) {
    setActionError("");
    try {
      onChange(await action());
      setNotice(done);
    } catch (reason) {
      setActionError(errorMessage(reason, "That did not work."));
    }
  }

  async function testWebhook() {
    setTesting(true);
    setActionError("");
    try {
      const tested = await widgetApi.testWebhook(widget.id);
      setTest(tested.webhook_test);
      onChange(tested);
    } catch (reason) {
      setActionError(errorMessage(reason, "The test could not run."));
    } finally {
      setTesting(false);
    }
  }

  return (
    <section>
      <PageTitle actions={<Link to={`/widgets?client_id=${widget.client_id}`}>All widgets of {clientName ?? "this client"}</Link>}>
        {widget.name}
      </PageTitle>
      <p className="notice-region" role="status">
        {notice && <span className="notice notice--ok">{notice}</span>}
      </p>
      <div className="notice-region" role="alert">
        {actionError && <p className="notice notice--error">{actionError}</p>}
      </div>

      <div className="card widget-summary">
        <dl className="facts">
          <div>
            <dt>Client</dt>
            <dd>{clientName ?? "…"}</dd>
          </div>
          <div>
            <dt>Webhook health</dt>
            <dd>
              <HealthBadge status={widget.health_status} checkedAt={widget.health_checked_at} />
              {widget.consecutive_failures > 0 && (
                <span className="small muted">
                  {" "}
                  · {formatNumber(widget.consecutive_failures)} failed in a row{widget.last_error_type ? ` (${widget.last_error_type})` : ""}
                </span>
              )}
            </dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>
              {widget.is_active ? "Active" : "Inactive: visitors do not see it"}
              {!widget.is_demo && widget.expires_at && <span className="small muted"> · stops {formatDateTime(widget.expires_at)}</span>}
              {widget.is_demo && <span className="badge badge--demo">Demo</span>}
            </dd>
          </div>
          <div>
            <dt>Secret</dt>
            <dd className="mono">{widget.widget_secret_masked}</dd>
          </div>
        </dl>
        <nav aria-label="This widget" className="widget-links">
          <Link to={`/widgets/${widget.id}/conversations`}>Conversations</Link>
          <Link to={`/analytics/widgets/${widget.id}`}>Analytics</Link>
          <Link to={`/health?widget=${widget.id}`}>Webhook errors</Link>
        </nav>
        <div className="form-actions">
          <button type="button" className="button" onClick={testWebhook} disabled={testing}>
            {testing ? "Testing the webhook…" : "Test webhook"}
          </button>
          <button
            type="button"
            className="button"
            onClick={() =>
              run(
                () => widgetApi.update(widget.id, { is_active: !widget.is_active }),
                widget.is_active ? "Widget deactivated: visitors no longer see it." : "Widget activated.",
              )
            }
          >
            {widget.is_active ? "Deactivate" : "Activate"}
          </button>
        </div>
        <div role="status" aria-live="polite">
          {test && (
            <>
              <h2 className="visually-hidden">Webhook test result</h2>
              <WebhookTestOutcome test={test} />
            </>
          )}
        </div>
      </div>

      {widget.is_demo && <DemoExpiry widget={widget} onSaved={(saved) => { onChange(saved); setNotice("The demo's expiry was extended."); }} />}

      <Editor widget={widget} widgetJsUrl={embed.data?.widget_js_url ?? `${window.location.origin}/widget.js`} onSaved={(saved, message) => { onChange(saved); setNotice(message); }} />

      <div className="card">
        <h2>Embed snippet</h2>
        {embed.error ? (
          <ErrorState error={embed.error} retry={embed.reload} what="the snippet" />
        ) : embed.data ? (
          <SnippetBox snippet={embed.data.snippet} />
        ) : (
          <Loading what="the snippet" />
        )}
      </div>

      <RotateSecret widget={widget} onRotated={onChange} />
      <DeleteWidget widget={widget} />
    </section>
  );
}

function Editor({ widget, widgetJsUrl, onSaved }: { widget: WidgetOut; widgetJsUrl: string; onSaved(widget: WidgetOut, message: string): void }) {
  const saved = useMemo(() => toForm(widget), [widget]);
  const [values, setValues] = useState<FormValues>(saved);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [mode, setMode] = useState<PreviewMode>("inline");
  const [test, setTest] = useState<WebhookTestResult | null>(null);
  // A demo's expiry changes with "Extend", not in this form.
  const dirty = Object.keys(values).some((key) => values[key] !== saved[key] && !(widget.is_demo && key === "expires_at"));
  const preview = useMemo(
    () => publicConfig({ ...widget, name: values.name }, previewConfig(values, widget.config)),
    [values, widget],
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setTest(null);
    const body = {
      ...(values.name !== saved.name ? { name: values.name } : {}),
      ...(values.webhook_url !== saved.webhook_url ? { webhook_url: values.webhook_url.trim() } : {}),
      ...(!widget.is_demo && values.expires_at !== saved.expires_at ? { expires_at: fromLocalInput(values.expires_at) } : {}),
      config: toConfigPatch(values),
    };
    try {
      const result = await widgetApi.update(widget.id, body);
      setValues(toForm(result));
      setTest(result.webhook_test ?? null);
      onSaved(result, "Changes saved. Visitors see them within a minute.");
    } catch (reason) {
      setErrors(saveErrors(reason, "The changes could not be saved."));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="editor">
      <form className="card editor-form" onSubmit={submit} noValidate aria-labelledby="settings-heading">
        <h2 id="settings-heading">Settings</h2>
        <FormProblems errors={errors} />
        <ConfigFields values={values} errors={errors} isDemo={widget.is_demo} onChange={(key, value) => setValues((v) => ({ ...v, [key]: value }))} />
        {test && (
          <div role="status">
            <h3>Test of the new webhook URL</h3>
            <WebhookTestOutcome test={test} />
          </div>
        )}
        <div className="form-actions editor-actions">
          <button type="submit" className="button button--primary" disabled={busy || !dirty}>
            {busy ? "Saving…" : "Save changes"}
          </button>
          <button type="button" className="button button--quiet" disabled={busy || !dirty} onClick={() => { setValues(saved); setErrors({}); }}>
            Discard changes
          </button>
          <span className="muted small">{dirty ? "Unsaved changes" : "All changes saved"}</span>
        </div>
      </form>
      <aside className="card editor-preview" aria-labelledby="preview-heading">
        <h2 id="preview-heading">Live preview</h2>
        <p className="hint">Drawn by the real widget.js with your unsaved changes. Messages here get a placeholder reply.</p>
        <div className="toolbar">
          <label htmlFor="preview-mode">Show</label>
          <select id="preview-mode" value={mode} onChange={(e) => setMode(e.target.value as PreviewMode)}>
            <option value="inline">The chat window</option>
            <option value="launcher">The button on a page</option>
          </select>
        </div>
        <WidgetPreview config={preview} widgetJsUrl={widgetJsUrl} mode={mode} />
      </aside>
    </div>
  );
}

function RotateSecret({ widget, onRotated }: { widget: WidgetOut; onRotated(widget: WidgetOut): void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <>
      {secret ? (
        <SecretReveal secret={secret} heading="New widget secret" />
      ) : (
        <div className="card">
          <h2>Widget secret</h2>
          <p>
            The workflow checks each message with this secret. Rotate it if it may have leaked: the old one stops working at once, so
            update n8n's JWT Auth credential right after.
          </p>
          <button type="button" className="button" onClick={() => setAsking(true)}>
            Rotate secret
          </button>
        </div>
      )}
      {asking && (
        <ConfirmDialog
          title={`Rotate the secret of ${widget.name}?`}
          confirmLabel={busy ? "Rotating…" : "Rotate secret"}
          error={error}
          onCancel={() => setAsking(false)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              const rotated = await widgetApi.rotateSecret(widget.id);
              setSecret(rotated.widget_secret);
              const { widget_secret: _shown, ...rest } = rotated;
              void _shown;
              onRotated(rest);
              setAsking(false);
            } catch (reason) {
              setError(errorMessage(reason, "The secret could not be rotated."));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>The current secret stops working at once: every message fails until the new secret is in the n8n workflow.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function DeleteWidget({ widget }: { widget: WidgetOut }) {
  const navigate = useNavigate();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="card card--danger">
      <h2>Delete this widget</h2>
      <p>Deletes the widget with all its conversations, analytics and webhook errors. The snippet stops working.</p>
      <button type="button" className="button button--danger-quiet" onClick={() => setAsking(true)}>
        Delete widget
      </button>
      {asking && (
        <ConfirmDialog
          title={`Delete ${widget.name}?`}
          confirmLabel="Delete widget"
          busy={busy}
          error={error}
          onCancel={() => setAsking(false)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              const counts = await widgetApi.remove(widget.id);
              navigate(`/widgets?client_id=${widget.client_id}`, {
                state: { notice: `Deleted widget ${widget.name}: ${describeCounts(counts)}.` },
              });
            } catch (reason) {
              setError(errorMessage(reason, "The widget could not be deleted."));
              setBusy(false);
            }
          }}
        >
          <p>
            This deletes <strong>{widget.name}</strong> with all its conversations, analytics and webhook errors. It cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
