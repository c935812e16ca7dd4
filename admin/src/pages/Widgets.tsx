import { Link, useSearchParams } from "react-router";
import type { WidgetPage } from "../api/client";
import { useClientChoices } from "../api/clients";
import { useApi } from "../api/useApi";
import { HealthBadge } from "../components/HealthBadge";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { formatDate } from "../format";

const PAGE_SIZE = 20;

export function Widgets() {
  const [params, setParams] = useSearchParams();
  const clientId = params.get("client_id") ?? "";
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const clients = useClientChoices();
  const page = useApi<WidgetPage>("/v1/admin/widgets", { client_id: clientId, limit: PAGE_SIZE, offset });
  const names = new Map((clients.data?.items ?? []).map((c) => [c.id, c.name]));
  const clientName = clientId ? names.get(clientId) : undefined;

  function go(next: { client_id?: string; offset?: number }) {
    const values = new URLSearchParams();
    const client = next.client_id ?? clientId;
    if (client) values.set("client_id", client);
    if (next.offset) values.set("offset", String(next.offset));
    setParams(values);
  }

  const newLink = clientId ? `/widgets/new?client_id=${clientId}` : "/widgets/new";
  return (
    <section>
      <PageTitle actions={<Link className="button button--primary" to={newLink}>New widget</Link>}>
        {clientName ? `Widgets of ${clientName}` : "Widgets"}
      </PageTitle>
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
      </div>
      {page.loading && !page.data ? (
        <Loading what="widgets" />
      ) : page.error ? (
        <ErrorState error={page.error} retry={page.reload} what="widgets" />
      ) : page.data && page.data.items.length === 0 ? (
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
                  <th scope="col">Name</th>
                  <th scope="col">Client</th>
                  <th scope="col">Webhook health</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((widget) => (
                  <tr key={widget.id}>
                    <th scope="row">{widget.name}</th>
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
    </section>
  );
}
