// Widgets across clients or of one: health, status, a link to each; select many and delete them,
// with a confirmation that names them and the counts the API returns.
import { useState } from "react";
import { Link, useLocation, useSearchParams } from "react-router";
import type { WidgetPage } from "../api/client";
import { useClientChoices } from "../api/clients";
import { useApi } from "../api/useApi";
import { widgetApi } from "../api/widgets";
import { ConfirmDialog } from "../components/Dialog";
import { HealthBadge } from "../components/HealthBadge";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { count, formatDate } from "../format";
import { describeCounts, errorMessage } from "./widget/parts";
import { useSelection } from "../components/useSelection";

const PAGE_SIZE = 20;

export function Widgets() {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const clientId = params.get("client_id") ?? "";
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const clients = useClientChoices();
  const page = useApi<WidgetPage>("/v1/admin/widgets", { client_id: clientId, limit: PAGE_SIZE, offset });
  const names = new Map((clients.data?.items ?? []).map((c) => [c.id, c.name]));
  const clientName = clientId ? names.get(clientId) : undefined;
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string>((location.state as { notice?: string } | null)?.notice ?? "");

  const items = page.data?.items ?? [];
  const selection = useSelection(items, (w) => w.id);
  const chosen = selection.chosen;

  function go(next: { client_id?: string; offset?: number }) {
    const values = new URLSearchParams();
    const client = next.client_id ?? clientId;
    if (client) values.set("client_id", client);
    if (next.offset) values.set("offset", String(next.offset));
    selection.clear();
    setParams(values);
  }

  async function deleteChosen() {
    setBusy(true);
    setDeleteError(null);
    try {
      const result = await widgetApi.bulkDelete(chosen.map((w) => w.id));
      const missing = result.not_found.length ? `; ${count(result.not_found.length, "widget was", "widgets were")} already gone` : "";
      setNotice(`Deleted ${describeCounts(result)}${missing}.`);
      setAsking(false);
      selection.clear();
      page.reload();
    } catch (reason) {
      setDeleteError(errorMessage(reason, "The widgets could not be deleted."));
    } finally {
      setBusy(false);
    }
  }

  const newLink = clientId ? `/widgets/new?client_id=${clientId}` : "/widgets/new";
  return (
    <section>
      <PageTitle actions={<Link className="button button--primary" to={newLink}>New widget</Link>}>
        {clientName ? `Widgets of ${clientName}` : "Widgets"}
      </PageTitle>
      <p className="notice-region" role="status">
        {notice && <span className="notice notice--ok">{notice}</span>}
      </p>
      <div className="toolbar">
        <label htmlFor="widget-client">Client</label>
        <select id="widget-client" value={clientId} onChange={(e) => go({ client_id: e.target.value, offset: 0 })}>
          <option value="">All clients</option>
          {(clients.data?.items ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <span className="toolbar-end">
          <span className="muted small" aria-live="polite">
            {chosen.length > 0 ? `${count(chosen.length, "widget")} selected` : ""}
          </span>
          <button
            type="button"
            className="button button--danger-quiet"
            disabled={chosen.length === 0}
            onClick={() => {
              setDeleteError(null);
              setAsking(true);
            }}
          >
            Delete selected
          </button>
        </span>
      </div>
      {page.loading && !page.data ? (
        <Loading what="widgets" />
      ) : page.error ? (
        <ErrorState error={page.error} retry={page.reload} what="widgets" />
      ) : page.data && items.length === 0 ? (
        <Empty title={clientId ? "This client has no widgets yet." : "No widgets yet."}>
          <p>
            <Link to={newLink}>Create a widget</Link>, then paste its snippet into the client's site.
          </p>
        </Empty>
      ) : page.data ? (
        <>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Widgets">
            <table>
              <thead>
                <tr>
                  <th scope="col" className="select-cell">
                    <input
                      type="checkbox"
                      aria-label="Select every widget on this page"
                      checked={selection.allOnPage}
                      onChange={(e) => selection.setAll(e.target.checked)}
                    />
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col">Client</th>
                  <th scope="col">Webhook health</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {items.map((widget) => (
                  <tr key={widget.id} className={selection.has(widget) ? "row--selected" : undefined}>
                    <td className="select-cell">
                      <input
                        type="checkbox"
                        aria-label={`Select ${widget.name}`}
                        checked={selection.has(widget)}
                        onChange={(e) => selection.toggle(widget, e.target.checked)}
                      />
                    </td>
                    <th scope="row">
                      <Link to={`/widgets/${widget.id}`}>{widget.name}</Link>
                    </th>
                    <td>
                      <Link to={`/widgets?client_id=${widget.client_id}`}>{names.get(widget.client_id) ?? "Client"}</Link>
                    </td>
                    <td>
                      <HealthBadge status={widget.health_status} checkedAt={widget.health_checked_at} />
                    </td>
                    <td>
                      {widget.is_active ? "Active" : "Inactive"}
                      {widget.is_demo && <span className="badge badge--demo">Demo</span>}
                    </td>
                    <td>{formatDate(widget.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} limit={PAGE_SIZE} total={page.data.total} onPage={(next) => go({ offset: next })} />
        </>
      ) : null}
      {asking && (
        <ConfirmDialog
          title={`Delete ${count(chosen.length, "widget")}?`}
          confirmLabel={`Delete ${count(chosen.length, "widget")}`}
          busy={busy}
          error={deleteError}
          onCancel={() => setAsking(false)}
          onConfirm={deleteChosen}
        >
          <p>These widgets go with all their conversations, analytics and webhook errors. Their snippets stop working. It cannot be undone.</p>
          <ul className="dialog-list">
            {chosen.map((w) => (
              <li key={w.id}>
                <strong>{w.name}</strong> <span className="muted">({names.get(w.client_id) ?? "client"})</span>
              </li>
            ))}
          </ul>
        </ConfirmDialog>
      )}
    </section>
  );
}
