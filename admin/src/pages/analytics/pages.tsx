// The analytics pages (loaded lazily with their chart library): the widgets one may see, a widget's
// analytics, a client's per-widget totals, and a client viewer's dashboard. Admins see any widget;
// a client viewer its own client's only (the API answers 404 for the rest, shown as "not found").
import type { ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import {
  browserTimeZone,
  clientPath,
  rangeQuery,
  widgetPath,
  type AnalyticsWidgetList,
  type ClientAnalytics,
  type RangeChoice,
  type WidgetAnalytics,
} from "../../api/analytics";
import type { ApiError, ClientPage } from "../../api/client";
import { useApi, type Loaded } from "../../api/useApi";
import { PageTitle } from "../../components/Layout";
import { Empty, ErrorState, Loading } from "../../components/states";
import { useSession } from "../../session";
import { formatDay, formatMs, formatNumber, formatShare } from "./format";
import { Heatmap } from "./Heatmap";
import { RangePicker, useRange } from "./RangePicker";
import { CsvButton, DailyCharts, KnowledgeGaps, Totals, TopQuestions, TopTopics } from "./Sections";

const notFound = (error: ApiError | null) => error?.status === 404;

/** "1 Mar 2026 – 29 May 2026 · 90 days · Europe/Berlin", and "Updating…" while a new range loads. */
function RangeLine({ range, loading }: { range: WidgetAnalytics["range"]; loading: boolean }) {
  return (
    <p className="range-line">
      <span>
        {formatDay(range.from)} – {formatDay(range.to)} · {formatNumber(range.days)} days · {range.tz}
      </span>
      <span role="status" className="muted small">
        {loading ? "Updating…" : ""}
      </span>
    </p>
  );
}

function NotYours({ what }: { what: string }) {
  return (
    <div className="state state--error" role="alert">
      <p>
        <strong>No such {what}, or it is not yours to see.</strong>
      </p>
      <p>
        <Link to="/analytics">Back to the analytics you can see</Link>
      </p>
    </div>
  );
}

/** A link to another analytics page that keeps the range. */
function useRangeSearch(): string {
  const [params] = useSearchParams();
  const text = params.toString();
  return text ? `?${text}` : "";
}

// --------------------------------------------------------------------------------------------------
// A widget

function useWidgetAnalytics(widgetId: string, choice: RangeChoice): Loaded<WidgetAnalytics> {
  return useApi<WidgetAnalytics>(widgetPath(widgetId), rangeQuery(choice));
}

/** Everything about one widget's range, once loaded. */
function WidgetReport({
  loaded,
  choice,
  totals = true,
}: {
  loaded: Loaded<WidgetAnalytics> & { data: WidgetAnalytics };
  choice: RangeChoice;
  totals?: boolean;
}) {
  const { data, loading } = loaded;
  const active = data.totals.chats + data.totals.failed + data.totals.conversations > 0;
  return (
    <div className="report" aria-busy={loading}>
      <div className="report-head">
        <RangeLine range={data.range} loading={loading} />
        <CsvButton path={widgetPath(data.widget.id)} choice={choice} name={`analytics-${data.widget.name}`} label="Download daily CSV" />
      </div>
      {totals && <Totals totals={data.totals} label={`Totals of ${data.widget.name}`} />}
      {active ? (
        <>
          <DailyCharts daily={data.daily} totals={data.totals} />
          <Heatmap grid={data.hourly} tz={data.range.tz} />
          <KnowledgeGaps items={data.knowledge_gaps} tz={data.range.tz} />
          <div className="two-columns">
            <TopQuestions items={data.top_questions} />
            <TopTopics items={data.top_topics} />
          </div>
        </>
      ) : (
        <Empty title="No chats in this range.">
          <p className="muted">Pick a longer range, or come back once visitors have used the widget. Figures are updated every 15 minutes.</p>
        </Empty>
      )}
    </div>
  );
}

function WidgetBody({ loaded, choice, totals }: { loaded: Loaded<WidgetAnalytics>; choice: RangeChoice; totals?: boolean }) {
  if (loaded.data && !notFound(loaded.error)) return <WidgetReport loaded={{ ...loaded, data: loaded.data }} choice={choice} totals={totals} />;
  if (loaded.loading) return <Loading what="analytics" />;
  if (notFound(loaded.error)) return <NotYours what="widget" />;
  if (loaded.error) return <ErrorState error={loaded.error} retry={loaded.reload} what="the analytics" />;
  return null;
}

export function WidgetAnalyticsPage() {
  const { widgetId = "" } = useParams();
  const [choice, setChoice] = useRange();
  const loaded = useWidgetAnalytics(widgetId, choice);
  const title = notFound(loaded.error) ? "Widget not found" : loaded.data ? `Analytics: ${loaded.data.widget.name}` : "Widget analytics";
  return (
    <section>
      <PageTitle actions={<Link to="/analytics">All analytics</Link>}>{title}</PageTitle>
      {!notFound(loaded.error) && <RangePicker choice={choice} onChange={setChoice} />}
      <WidgetBody loaded={loaded} choice={choice} />
    </section>
  );
}

// --------------------------------------------------------------------------------------------------
// A client

function ClientReport({ data, loading, choice }: { data: ClientAnalytics; loading: boolean; choice: RangeChoice }) {
  const search = useRangeSearch();
  return (
    <div className="report" aria-busy={loading}>
      <div className="report-head">
        <RangeLine range={data.range} loading={loading} />
        <CsvButton path={clientPath(data.client.id)} choice={choice} name={`analytics-${data.client.name}`} label="Download totals CSV" />
      </div>
      <Totals totals={data.totals} label={`Totals of ${data.client.name}`} />
      {data.widgets.length === 0 ? (
        <Empty title="No widgets yet." />
      ) : (
        <section className="card" aria-labelledby="per-widget">
          <h2 id="per-widget">Per widget</h2>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Totals per widget">
            <table>
              <thead>
                <tr>
                  <th scope="col">Widget</th>
                  <th scope="col" className="num">Chats</th>
                  <th scope="col" className="num">Conversations</th>
                  <th scope="col" className="num">Failures</th>
                  <th scope="col" className="num">Confidence</th>
                  <th scope="col" className="num">Feedback up / down</th>
                  <th scope="col" className="num">Response avg / p95</th>
                </tr>
              </thead>
              <tbody>
                {data.widgets.map(({ widget, totals }) => (
                  <MetricsRow key={widget.id} totals={totals}>
                    <Link to={`/analytics/widgets/${widget.id}${search}`}>{widget.name}</Link>
                    {!widget.is_active && <span className="badge badge--unknown badge--inline">Inactive</span>}
                  </MetricsRow>
                ))}
              </tbody>
              <tfoot>
                <MetricsRow totals={data.totals}>Total</MetricsRow>
              </tfoot>
            </table>
          </div>
        </section>
      )}
    </div>
  );
}

function MetricsRow({ totals, children }: { totals: ClientAnalytics["totals"]; children: ReactNode }) {
  return (
    <tr>
      <th scope="row">{children}</th>
      <td className="num">{formatNumber(totals.chats)}</td>
      <td className="num">{formatNumber(totals.conversations)}</td>
      <td className="num">{formatNumber(totals.failed)}</td>
      <td className="num">{formatShare(totals.avg_confidence)}</td>
      <td className="num">
        {formatNumber(totals.positive_feedback)} / {formatNumber(totals.negative_feedback)}
      </td>
      <td className="num">
        {formatMs(totals.avg_response_time_ms)} / {formatMs(totals.p95_response_time_ms)}
      </td>
    </tr>
  );
}

function ClientBody({ loaded, choice }: { loaded: Loaded<ClientAnalytics>; choice: RangeChoice }) {
  if (loaded.data && !notFound(loaded.error)) return <ClientReport data={loaded.data} loading={loaded.loading} choice={choice} />;
  if (loaded.loading) return <Loading what="analytics" />;
  if (notFound(loaded.error)) return <NotYours what="client" />;
  if (loaded.error) return <ErrorState error={loaded.error} retry={loaded.reload} what="the analytics" />;
  return null;
}

export function ClientAnalyticsPage() {
  const { clientId = "" } = useParams();
  const [choice, setChoice] = useRange();
  const loaded = useApi<ClientAnalytics>(clientPath(clientId), rangeQuery(choice));
  const title = notFound(loaded.error) ? "Client not found" : loaded.data ? `Analytics: ${loaded.data.client.name}` : "Client analytics";
  return (
    <section>
      <PageTitle actions={<Link to="/analytics">All analytics</Link>}>{title}</PageTitle>
      {!notFound(loaded.error) && <RangePicker choice={choice} onChange={setChoice} />}
      <ClientBody loaded={loaded} choice={choice} />
    </section>
  );
}

// --------------------------------------------------------------------------------------------------
// The widgets one may see

export function AnalyticsList() {
  const { user } = useSession();
  const isAdmin = user?.role === "admin";
  const tz = browserTimeZone();
  const list = useApi<AnalyticsWidgetList>("/v1/analytics/widgets", { tz });
  // Client names come from the admin API, which only admins may call.
  const clients = useApi<ClientPage>(isAdmin ? "/v1/admin/clients" : null, { limit: 200 });
  const names = new Map((clients.data?.items ?? []).map((c) => [c.id, c.name]));
  return (
    <section>
      <PageTitle>Analytics</PageTitle>
      <p className="muted">
        Answered chats per widget (days in {list.data?.tz ?? tz}). Open a widget for its charts, busiest hours, top questions and
        knowledge gaps{isAdmin ? ", or a client for its widgets' totals" : ""}.
      </p>
      {!isAdmin && user?.client_id && (
        <p>
          <Link to={`/analytics/clients/${user.client_id}`}>Totals of all your widgets</Link>
        </p>
      )}
      {list.loading && !list.data ? (
        <Loading what="widgets" />
      ) : list.error ? (
        <ErrorState error={list.error} retry={list.reload} what="widgets" />
      ) : list.data && list.data.widgets.length === 0 ? (
        <Empty title="No widgets yet.">{isAdmin && <p><Link to="/widgets/new">Create a widget</Link> to see its analytics here.</p>}</Empty>
      ) : list.data ? (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Widgets and their chats">
          <table>
            <caption className="visually-hidden">Chats per widget, days in {list.data.tz}</caption>
            <thead>
              <tr>
                <th scope="col">Widget</th>
                {isAdmin && <th scope="col">Client</th>}
                <th scope="col" className="num">Chats today</th>
                <th scope="col" className="num">Last 30 days</th>
              </tr>
            </thead>
            <tbody>
              {list.data.widgets.map((widget) => (
                <tr key={widget.id}>
                  <th scope="row">
                    <Link to={`/analytics/widgets/${widget.id}`}>{widget.name}</Link>
                    {widget.is_demo && <span className="badge badge--demo">Demo</span>}
                    {!widget.is_active && <span className="badge badge--unknown badge--inline">Inactive</span>}
                  </th>
                  {isAdmin && (
                    <td>
                      <Link to={`/analytics/clients/${widget.client_id}`}>{names.get(widget.client_id) ?? "Client totals"}</Link>
                    </td>
                  )}
                  <td className="num">{formatNumber(widget.chats_today)}</td>
                  <td className="num">{formatNumber(widget.chats_last_30_days)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

// --------------------------------------------------------------------------------------------------
// A client viewer's dashboard (under the page's "Dashboard" heading)

function OnlyWidget({ widgetId, choice }: { widgetId: string; choice: RangeChoice }) {
  const loaded = useWidgetAnalytics(widgetId, choice);
  return <WidgetBody loaded={loaded} choice={choice} totals={false} />;
}

export function ClientDashboard({ clientId }: { clientId: string }) {
  const [choice, setChoice] = useRange();
  const loaded = useApi<ClientAnalytics>(clientPath(clientId), rangeQuery(choice));
  const widgets = loaded.data?.widgets ?? [];
  return (
    <>
      <RangePicker choice={choice} onChange={setChoice} />
      <ClientBody loaded={loaded} choice={choice} />
      {widgets.length === 1 && (
        <section aria-labelledby="only-widget" className="only-widget">
          <h2 id="only-widget">{widgets[0].widget.name}: day by day</h2>
          <OnlyWidget widgetId={widgets[0].widget.id} choice={choice} />
        </section>
      )}
    </>
  );
}
