// Webhook health: every widget's webhook status in one table (failing first), and the webhook
// errors behind failed exchanges, filtered by widget, client, kind and time, newest first.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ApiError, type WidgetSummary } from "../api/client";
import { useClientChoices } from "../api/clients";
import {
  byHealth,
  ERROR_KINDS,
  errorKindLabel,
  fetchAllWidgets,
  type WebhookErrorKind,
  type WebhookErrorPage,
  type WidgetTested,
} from "../api/ops";
import { useApi } from "../api/useApi";
import { HealthBadge } from "../components/HealthBadge";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { count, formatDateTime, formatNumber } from "../format";

const STATUS_PAGE = 25;
const ERRORS_PAGE = 25;

const RANGES: Record<string, { label: string; hours: number }> = {
  "1h": { label: "Last hour", hours: 1 },
  "24h": { label: "Last 24 hours", hours: 24 },
  "7d": { label: "Last 7 days", hours: 24 * 7 },
  "30d": { label: "Last 30 days", hours: 24 * 30 },
};

function useAllWidgets() {
  const [data, setData] = useState<WidgetSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    fetchAllWidgets(controller.signal)
      .then((all) => setData(all.sort(byHealth)))
      .catch((reason: unknown) => {
        if (reason instanceof DOMException && reason.name === "AbortError") return;
        setError(reason instanceof ApiError ? reason : new ApiError(0, "unknown", String(reason)));
      });
    return () => controller.abort();
  }, [generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, reload };
}

export function Health() {
  const widgets = useAllWidgets();
  const clients = useClientChoices();
  const clientNames = new Map((clients.data?.items ?? []).map((c) => [c.id, c.name]));
  return (
    <section className="ops-page">
      <PageTitle>Webhook health</PageTitle>
      <WidgetStatus widgets={widgets} clientNames={clientNames} />
      <WebhookErrors widgets={widgets.data ?? []} clients={clients.data?.items ?? []} />
    </section>
  );
}

function WidgetStatus({
  widgets,
  clientNames,
}: {
  widgets: ReturnType<typeof useAllWidgets>;
  clientNames: Map<string, string>;
}) {
  const [offset, setOffset] = useState(0);
  const [checking, setChecking] = useState<string | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const all = widgets.data;

  async function checkNow(widget: WidgetSummary) {
    setChecking(widget.id);
    setMessage(null);
    try {
      const { webhook_test: test } = await api<WidgetTested>(`/v1/admin/widgets/${widget.id}/test-webhook`, {
        method: "POST",
      });
      setMessage(
        test.ok
          ? { ok: true, text: `${widget.name}: the webhook answered in ${formatNumber(test.latency_ms)} ms.` }
          : { ok: false, text: `${widget.name}: the webhook failed (${errorKindLabel(test.error_type)}).` },
      );
      widgets.reload();
    } catch (reason) {
      setMessage({ ok: false, text: reason instanceof ApiError ? reason.message : "The check could not run." });
    } finally {
      setChecking(null);
    }
  }

  const tally = useMemo(() => {
    const t = { failing: 0, unknown: 0, healthy: 0 };
    for (const w of all ?? []) t[w.health_status] += 1;
    return t;
  }, [all]);

  return (
    <section className="card ops-section" aria-labelledby="status-heading">
      <h2 id="status-heading">Webhook status</h2>
      {all && all.length > 0 && (
        <p className="health-tally">
          <span className={tally.failing ? "tally tally--bad" : "tally"}>{count(tally.failing, "failing webhook")}</span>
          <span className="tally">{formatNumber(tally.unknown)} not checked</span>
          <span className="tally">{formatNumber(tally.healthy)} healthy</span>
        </p>
      )}
      <div role="status" aria-live="polite" className="notice-region">
        {message && <p className={`notice ${message.ok ? "notice--ok" : "notice--error"}`}>{message.text}</p>}
      </div>
      {widgets.error ? (
        <ErrorState error={widgets.error} retry={widgets.reload} what="the widgets' health" />
      ) : !all ? (
        <Loading what="the widgets' health" />
      ) : all.length === 0 ? (
        <Empty title="No widgets yet.">
          <p>
            <Link to="/widgets/new">Create a widget</Link>; its webhook is checked at once and every hour.
          </p>
        </Empty>
      ) : (
        <>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook status of every widget">
            <table>
              <thead>
                <tr>
                  <th scope="col">Widget</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last check</th>
                  <th scope="col">Last error</th>
                  <th scope="col" className="num">Failures in a row</th>
                  <th scope="col" className="num">Latency</th>
                  <th scope="col">Client</th>
                  <th scope="col"><span className="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {all.slice(offset, offset + STATUS_PAGE).map((widget) => (
                  <tr key={widget.id} className={widget.health_status === "failing" ? "row--failing" : undefined}>
                    <th scope="row" className="name-cell">
                      <Link to={`/widgets/${widget.id}`}>{widget.name}</Link>
                      {!widget.is_active && <span className="muted small"> (inactive)</span>}
                    </th>
                    <td>
                      <HealthBadge status={widget.health_status} />
                    </td>
                    <td className="nowrap">{widget.health_checked_at ? formatDateTime(widget.health_checked_at) : <span className="muted">Never</span>}</td>
                    <td>{widget.last_error_type ? errorKindLabel(widget.last_error_type) : <span className="muted">—</span>}</td>
                    <td className="num">{formatNumber(widget.consecutive_failures)}</td>
                    <td className="num">
                      {widget.last_latency_ms != null ? `${formatNumber(widget.last_latency_ms)} ms` : <span className="muted">—</span>}
                    </td>
                    <td>{clientNames.get(widget.client_id) ?? <span className="muted">—</span>}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="button button--small"
                        disabled={checking !== null}
                        aria-label={`Check now: ${widget.name}`}
                        onClick={() => checkNow(widget)}
                      >
                        {checking === widget.id ? "Checking…" : "Check now"}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} limit={STATUS_PAGE} total={all.length} onPage={setOffset} />
        </>
      )}
    </section>
  );
}

function WebhookErrors({ widgets, clients }: { widgets: WidgetSummary[]; clients: { id: string; name: string }[] }) {
  const [params, setParams] = useSearchParams();
  const widgetId = params.get("widget") ?? "";
  const clientId = params.get("client") ?? "";
  const kind = params.get("kind") ?? "";
  const range = params.get("range") ?? "";
  // The cursors of the pages before this one: [] on the first page.
  const [cursors, setCursors] = useState<string[]>([]);
  // "Since" is fixed when the range is chosen (a new instant on every render would refetch forever).
  const since = useMemo(() => {
    const hours = RANGES[range]?.hours;
    return hours ? new Date(Date.now() - hours * 3_600_000).toISOString() : "";
  }, [range]);
  const cursor = cursors[cursors.length - 1] ?? "";
  const page = useApi<WebhookErrorPage>("/v1/admin/webhook-errors", {
    widget_id: widgetId,
    client_id: clientId,
    error_type: kind,
    since,
    limit: ERRORS_PAGE,
    cursor,
  });
  const clientNames = new Map(clients.map((c) => [c.id, c.name]));
  const widgetChoices = widgets
    .filter((w) => !clientId || w.client_id === clientId)
    .sort((a, b) => a.name.localeCompare(b.name));
  const filtered = Boolean(widgetId || clientId || kind || range);

  function set(name: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    // A widget of another client would match nothing.
    if (name === "client" && value && widgetId && widgets.find((w) => w.id === widgetId)?.client_id !== value) {
      next.delete("widget");
    }
    setCursors([]);
    setParams(next, { replace: true });
  }

  return (
    <section className="card ops-section" aria-labelledby="errors-heading">
      <h2 id="errors-heading">Webhook errors</h2>
      <p className="muted small">Failed calls to the widgets' workflows, newest first. Messages were redacted when they were written.</p>
      <form className="filters" aria-label="Filter webhook errors" onSubmit={(e) => e.preventDefault()}>
        <div className="filter">
          <label htmlFor="errors-client">Client</label>
          <select id="errors-client" value={clientId} onChange={(e) => set("client", e.target.value)}>
            <option value="">All clients</option>
            {clients.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="errors-widget">Widget</label>
          <select id="errors-widget" value={widgetId} onChange={(e) => set("widget", e.target.value)}>
            <option value="">All widgets</option>
            {widgetChoices.map((w) => (
              <option key={w.id} value={w.id}>
                {clientId ? w.name : `${w.name} (${clientNames.get(w.client_id) ?? "client"})`}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="errors-kind">Kind</label>
          <select id="errors-kind" value={kind} onChange={(e) => set("kind", e.target.value)}>
            <option value="">All kinds</option>
            {(Object.keys(ERROR_KINDS) as WebhookErrorKind[]).map((k) => (
              <option key={k} value={k}>
                {ERROR_KINDS[k]}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="errors-range">Time</label>
          <select id="errors-range" value={range} onChange={(e) => set("range", e.target.value)}>
            <option value="">Any time</option>
            {Object.entries(RANGES).map(([key, r]) => (
              <option key={key} value={key}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        {filtered && (
          <button type="button" className="button button--quiet filter-clear" onClick={() => { setCursors([]); setParams(new URLSearchParams(), { replace: true }); }}>
            Clear filters
          </button>
        )}
      </form>
      {page.loading && !page.data ? (
        <Loading what="webhook errors" />
      ) : page.error ? (
        <ErrorState error={page.error} retry={page.reload} what="webhook errors" />
      ) : page.data && page.data.items.length === 0 ? (
        <Empty title={filtered ? "No webhook error matches these filters." : "No webhook errors."}>
          <p className="muted">{filtered ? "Try a wider time range or another kind." : "Every call to a workflow has succeeded so far."}</p>
        </Empty>
      ) : page.data ? (
        <>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook errors" aria-busy={page.loading}>
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Widget</th>
                  <th scope="col">Client</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((error) => (
                  <tr key={error.id}>
                    <td className="nowrap">
                      <time dateTime={error.occurred_at}>{formatDateTime(error.occurred_at)}</time>
                    </td>
                    <td>
                      <span className="badge badge--failing">{errorKindLabel(error.error_type)}</span>
                    </td>
                    <th scope="row">
                      <Link to={`/widgets/${error.widget_id}`}>{error.widget_name}</Link>
                    </th>
                    <td>{error.client_name}</td>
                    <td className="error-message">{error.error_message || <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Webhook error pages">
            <button type="button" className="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Newer
            </button>
            <span>Page {formatNumber(cursors.length + 1)}</span>
            <button
              type="button"
              className="button"
              disabled={!page.data.next_cursor}
              onClick={() => page.data?.next_cursor && setCursors((c) => [...c, page.data!.next_cursor!])}
            >
              Older
            </button>
          </nav>
        </>
      ) : null}
    </section>
  );
}
