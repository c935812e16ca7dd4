// Demo widgets: create one with a TTL, share its public page, see the time left, extend, purge.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { WidgetCreated, WidgetPage } from "../api/client";
import { useClientChoices } from "../api/clients";
import { useApi } from "../api/useApi";
import { widgetApi } from "../api/widgets";
import { CopyButton } from "../components/CopyButton";
import { ConfirmDialog } from "../components/Dialog";
import { Field, SelectField } from "../components/Field";
import { HealthBadge } from "../components/HealthBadge";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { count, formatDateTime } from "../format";
import { DemoExpiry } from "./widget/DemoExpiry";
import { describeCounts, errorMessage, FormProblems, saveErrors, SecretReveal, timeLeft, TTL_CHOICES, WebhookTestOutcome, type FieldErrors } from "./widget/parts";

const PAGE_SIZE = 20;

export function Demos() {
  const [offset, setOffset] = useState(0);
  const page = useApi<WidgetPage>("/v1/admin/widgets", { is_demo: true, limit: PAGE_SIZE, offset });
  const clients = useClientChoices();
  const names = new Map((clients.data?.items ?? []).map((c) => [c.id, c.name]));
  const [created, setCreated] = useState<WidgetCreated | null>(null);
  const [notice, setNotice] = useState("");
  const [purging, setPurging] = useState<"expired" | "all" | null>(null);
  const [busy, setBusy] = useState(false);
  const [purgeError, setPurgeError] = useState<string | null>(null);
  const items = page.data?.items ?? [];
  const expired = items.filter((w) => w.expires_at && new Date(w.expires_at).getTime() <= Date.now());

  async function purge(expiredOnly: boolean) {
    setBusy(true);
    setPurgeError(null);
    try {
      const counts = await widgetApi.purgeDemos(expiredOnly);
      setNotice(`${expiredOnly ? "Purged the expired demos" : "Deleted every demo"}: ${describeCounts(counts)}.`);
      setPurging(null);
      setCreated(null);
      setOffset(0);
      page.reload();
    } catch (reason) {
      setPurgeError(errorMessage(reason, "The demos could not be purged."));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <PageTitle
        actions={
          <>
            <button type="button" className="button" onClick={() => setPurging("expired")}>
              Purge expired demos
            </button>
            <button type="button" className="button button--danger-quiet" onClick={() => setPurging("all")} disabled={items.length === 0}>
              Delete every demo
            </button>
          </>
        }
      >
        Demo widgets
      </PageTitle>
      <p className="notice-region" role="status">
        {notice && <span className="notice notice--ok">{notice}</span>}
      </p>

      {created ? (
        <CreatedDemo demo={created} onDone={() => setCreated(null)} />
      ) : (
        <CreateDemo
          onCreated={(demo) => {
            setCreated(demo);
            setNotice("");
            page.reload();
          }}
        />
      )}

      <h2>Demos</h2>
      {page.loading && !page.data ? (
        <Loading what="demo widgets" />
      ) : page.error ? (
        <ErrorState error={page.error} retry={page.reload} what="demo widgets" />
      ) : items.length === 0 ? (
        <Empty title="No demo widgets.">
          <p>Create one above: it gets a public page to share with a prospect, and deletes itself when it expires.</p>
        </Empty>
      ) : (
        <>
          <ul className="demo-list">
            {items.map((demo) => (
              <li key={demo.id} className="card">
                <h3>
                  <Link to={`/widgets/${demo.id}`}>{demo.name}</Link>
                </h3>
                <p className="muted small">
                  {names.get(demo.client_id) ?? "Client"} · <HealthBadge status={demo.health_status} />
                </p>
                {demo.demo_url && <ShareLink url={demo.demo_url} name={demo.name} />}
                <DemoExpiry widget={demo} compact onSaved={() => { setNotice(`Extended ${demo.name}.`); page.reload(); }} />
              </li>
            ))}
          </ul>
          <Pager offset={offset} limit={PAGE_SIZE} total={page.data?.total ?? 0} onPage={setOffset} />
        </>
      )}

      {purging && (
        <ConfirmDialog
          title={purging === "expired" ? "Purge the expired demos?" : "Delete every demo widget?"}
          confirmLabel={purging === "expired" ? "Purge expired demos" : "Delete every demo"}
          busy={busy}
          error={purgeError}
          onCancel={() => setPurging(null)}
          onConfirm={() => purge(purging === "expired")}
        >
          {purging === "expired" ? (
            <p>
              This deletes every demo widget past its expiry, with its conversations, analytics and webhook errors.
              {expired.length > 0 ? ` On this page: ${expired.map((w) => w.name).join(", ")}.` : " None on this page has expired."}
            </p>
          ) : (
            <p>
              This deletes {(page.data?.total ?? 0) === 1 ? "the only demo widget" : `all ${count(page.data?.total ?? 0, "demo widget")}`}, expired or not, with their conversations, analytics and
              webhook errors. Their share links stop working.
            </p>
          )}
        </ConfirmDialog>
      )}
    </section>
  );
}

function ShareLink({ url, name }: { url: string; name: string }) {
  return (
    <div className="share">
      <p className="copy-row">
        <a href={url} target="_blank" rel="noreferrer" className="mono share-url">
          {url}
        </a>
        <CopyButton text={url} label={`Copy the link to ${name}`} />
      </p>
    </div>
  );
}

function CreateDemo({ onCreated }: { onCreated(demo: WidgetCreated): void }) {
  const clients = useClientChoices();
  const [clientId, setClientId] = useState("");
  const [name, setName] = useState("");
  const [webhookUrl, setWebhookUrl] = useState("");
  const [title, setTitle] = useState("");
  const [ttl, setTtl] = useState(String(TTL_CHOICES[1][0]));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const config = (title.trim() ? { title: title.trim() } : {}) as Parameters<typeof widgetApi.createDemo>[0]["config"];
      onCreated(
        await widgetApi.createDemo({ client_id: clientId, name: name.trim(), webhook_url: webhookUrl.trim(), ttl_hours: Number(ttl), config }),
      );
    } catch (reason) {
      setErrors(saveErrors(reason, "The demo could not be created."));
    } finally {
      setBusy(false);
    }
  }

  if (clients.error) return <ErrorState error={clients.error} retry={clients.reload} what="clients" />;
  return (
    <form className="card form" onSubmit={submit} noValidate aria-labelledby="new-demo">
      <h2 id="new-demo">New demo</h2>
      <FormProblems errors={errors} />
      <SelectField label="Client" required value={clientId} onChange={setClientId} error={errors.client_id}>
        <option value="">Choose a client</option>
        {(clients.data?.items ?? []).map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </SelectField>
      <Field label="Name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
      <Field
        label="Webhook URL"
        type="url"
        inputMode="url"
        required
        value={webhookUrl}
        onChange={(e) => setWebhookUrl(e.target.value)}
        error={errors.webhook_url}
        hint="The n8n workflow that answers the demo. It is tested when you create it."
      />
      <Field label="Title" maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} error={errors["config.title"]} hint="Empty: “Chat with us”." />
      <SelectField label="Available for" value={ttl} onChange={setTtl} error={errors.ttl_hours}>
        {TTL_CHOICES.map(([hours, label]) => (
          <option key={hours} value={hours}>
            {label}
          </option>
        ))}
      </SelectField>
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? "Creating and testing the webhook…" : "Create demo"}
        </button>
      </div>
    </form>
  );
}

function CreatedDemo({ demo, onDone }: { demo: WidgetCreated; onDone(): void }) {
  return (
    <div className="card created-demo">
      <h2>Demo {demo.name} is ready</h2>
      <p>Share this link: it opens a page with the widget, until the demo expires.</p>
      {demo.demo_url && <ShareLink url={demo.demo_url} name={demo.name} />}
      <p>
        Available until {formatDateTime(demo.expires_at)} · <strong>{timeLeft(demo.expires_at)}</strong>
      </p>
      <div role="status">
        <WebhookTestOutcome test={demo.webhook_test} />
      </div>
      <SecretReveal secret={demo.widget_secret} />
      <button type="button" className="button" onClick={onDone}>
        Create another demo
      </button>
    </div>
  );
}
