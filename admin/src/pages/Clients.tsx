import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ApiError, type Client, type ClientPage, type DeletedCounts } from "../api/client";
import { useApi } from "../api/useApi";
import { ConfirmDialog } from "../components/Dialog";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { count, formatDate, formatNumber } from "../format";

const PAGE_SIZE = 20;

export function deletedSummary(counts: DeletedCounts): string {
  return [
    count(counts.widgets ?? 0, "widget"),
    count(counts.chat_logs ?? 0, "chat log"),
    count(counts.analytics ?? 0, "analytics day"),
    count(counts.webhook_errors ?? 0, "webhook error"),
    count(counts.users ?? 0, "viewer account"),
  ].join(", ");
}

export function Clients() {
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const [draft, setDraft] = useState(search);
  const page = useApi<ClientPage>("/v1/admin/clients", { search, limit: PAGE_SIZE, offset });
  const [deleting, setDeleting] = useState<Client | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  function go(next: { q?: string; offset?: number }) {
    const values = new URLSearchParams();
    const q = next.q ?? search;
    if (q) values.set("q", q);
    if (next.offset) values.set("offset", String(next.offset));
    setParams(values);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    go({ q: draft.trim(), offset: 0 });
  }

  async function confirmDelete() {
    if (!deleting) return;
    setBusy(true);
    setDeleteError(null);
    try {
      const counts = await api<DeletedCounts>(`/v1/admin/clients/${deleting.id}`, { method: "DELETE" });
      setMessage(`Deleted client ${deleting.name}: ${deletedSummary(counts)}.`);
      setDeleting(null);
      page.reload();
    } catch (reason) {
      setDeleteError(reason instanceof ApiError ? reason.message : "The client could not be deleted.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <PageTitle actions={<Link className="button button--primary" to="/clients/new">New client</Link>}>Clients</PageTitle>
      <form className="toolbar" role="search" onSubmit={submit}>
        <label htmlFor="client-search">Search clients</label>
        <input id="client-search" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Name, company or email" />
        <button type="submit" className="button">
          Search
        </button>
        {search && (
          <button type="button" className="button button--quiet" onClick={() => { setDraft(""); go({ q: "", offset: 0 }); }}>
            Clear
          </button>
        )}
      </form>
      <div role="status" aria-live="polite" className="notice-region">
        {message && <p className="notice notice--ok">{message}</p>}
      </div>
      {page.loading && !page.data ? (
        <Loading what="clients" />
      ) : page.error ? (
        <ErrorState error={page.error} retry={page.reload} what="clients" />
      ) : page.data && page.data.items.length === 0 ? (
        search ? (
          <Empty title={`No client matches “${search}”.`}>
            <p className="muted">Try another name, company or email.</p>
          </Empty>
        ) : (
          <Empty title="No clients yet.">
            <p>
              <Link to="/clients/new">Create your first client</Link> to give it chat widgets.
            </p>
          </Empty>
        )
      ) : page.data ? (
        <>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Clients">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Company</th>
                  <th scope="col">Contact email</th>
                  <th scope="col" className="num">Widgets</th>
                  <th scope="col">Created</th>
                  <th scope="col"><span className="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((client) => (
                  <tr key={client.id}>
                    <th scope="row">
                      <Link to={`/clients/${client.id}`}>{client.name}</Link>
                    </th>
                    <td>{client.company_name || <span className="muted">—</span>}</td>
                    <td>{client.contact_email || <span className="muted">—</span>}</td>
                    <td className="num">
                      <Link to={`/widgets?client_id=${client.id}`} aria-label={`${count(client.widget_count, "widget")} of ${client.name}`}>
                        {formatNumber(client.widget_count)}
                      </Link>
                    </td>
                    <td>{formatDate(client.created_at)}</td>
                    <td className="actions">
                      <Link className="button button--small" to={`/clients/${client.id}`} aria-label={`Edit ${client.name}`}>
                        Edit
                      </Link>
                      <button type="button" className="button button--small button--danger-quiet" aria-label={`Delete ${client.name}`} onClick={() => { setDeleteError(null); setDeleting(client); }}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} limit={PAGE_SIZE} total={page.data.total} onPage={(next) => go({ offset: next })} />
        </>
      ) : null}
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting.name}?`}
          confirmLabel="Delete client"
          busy={busy}
          error={deleteError}
          onConfirm={confirmDelete}
          onCancel={() => setDeleting(null)}
        >
          <p>
            This deletes the client <strong>{deleting.name}</strong>
            {deleting.widget_count > 0 ? (
              <>
                , its <strong>{count(deleting.widget_count, "widget")}</strong> with all their conversations, analytics and
                webhook errors,
              </>
            ) : (
              " (it has no widgets)"
            )}{" "}
            and its viewer accounts.
          </p>
          <p>This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
