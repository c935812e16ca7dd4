// The parts of the analytics pages: totals, the per-day charts, top questions and topics, the
// knowledge gaps, and the CSV download.
import { useMemo, useState, type ReactNode } from "react";
import { downloadCsv, type DailyMetrics, type KnowledgeGap, type Metrics, type RangeChoice, type TopQuestion, type TopTopic } from "../../api/analytics";
import { ApiError } from "../../api/client";
import { Empty } from "../../components/states";
import { DailyChart, type ChartSeries } from "./DailyChart";
import { formatCompact, formatDateTimeIn, formatDay, formatMs, formatNumber, formatShare } from "./format";

// Line colours: each at least 3:1 on white.
const BLUE = "#1d4ed8";
const RED = "#b91c1c";
const GREEN = "#047857";
const PURPLE = "#6d28d9";
const AMBER = "#b45309";

/** The headline figures of a range. */
export function Totals({ totals, label }: { totals: Metrics; label: string }) {
  const feedback = totals.positive_feedback + totals.negative_feedback;
  const items: [string, string, string?][] = [
    ["Chats", formatNumber(totals.chats), "answered exchanges"],
    ["Conversations", formatNumber(totals.conversations)],
    ["Failures", formatNumber(totals.failed), totals.chats + totals.failed > 0 ? `${formatShare(totals.failed / (totals.chats + totals.failed))} of exchanges` : undefined],
    ["Average confidence", formatShare(totals.avg_confidence)],
    ["Feedback", `${formatNumber(totals.positive_feedback)} up · ${formatNumber(totals.negative_feedback)} down`, feedback > 0 ? `${formatShare(totals.positive_feedback / feedback)} positive` : undefined],
    ["Response time", formatMs(totals.avg_response_time_ms), `average · p95 ${formatMs(totals.p95_response_time_ms)}`],
  ];
  return (
    <dl className="stats" aria-label={label}>
      {items.map(([name, value, note]) => (
        <div className="stat" key={name}>
          <dt>{name}</dt>
          <dd>
            <span className="stat-value">{value}</span>
            {note && <span className="stat-note">{note}</span>}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function busiest(days: DailyMetrics[], pick: (day: DailyMetrics) => number): string {
  let best: DailyMetrics | null = null;
  for (const day of days) if (!best || pick(day) > pick(best)) best = day;
  return best && pick(best) > 0 ? `${formatDay(best.date)} (${formatNumber(pick(best))})` : "none";
}

function mean(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) / known.length : null;
}

const countFormat = (value: number) => formatNumber(Math.round(value));
const percentFormat = (value: number) => formatShare(value / 100);

/** The four per-day charts of a widget's range. */
export function DailyCharts({ daily, totals }: { daily: DailyMetrics[]; totals: Metrics }) {
  const charts = useMemo(() => {
    const days = daily.map((d) => d.date);
    const volume: ChartSeries[] = [
      { label: "Chats", values: daily.map((d) => d.chats), color: BLUE },
      { label: "Conversations", values: daily.map((d) => d.conversations), color: GREEN, dash: [6, 3] },
      { label: "Failures", values: daily.map((d) => d.failed), color: RED, dash: [2, 3] },
    ];
    const confidence: ChartSeries[] = [
      { label: "Average confidence", values: daily.map((d) => (d.avg_confidence === null ? null : d.avg_confidence * 100)), color: PURPLE },
    ];
    const feedback: ChartSeries[] = [
      { label: "Thumbs up", values: daily.map((d) => d.positive_feedback), color: GREEN },
      { label: "Thumbs down", values: daily.map((d) => d.negative_feedback), color: RED, dash: [6, 3] },
    ];
    const speed: ChartSeries[] = [
      { label: "Average", values: daily.map((d) => d.avg_response_time_ms), color: BLUE },
      { label: "95th percentile", values: daily.map((d) => d.p95_response_time_ms), color: AMBER, dash: [6, 3] },
    ];
    return { days, volume, confidence, feedback, speed };
  }, [daily]);
  const meanConfidence = mean(charts.confidence[0].values);
  return (
    <div className="charts">
      <DailyChart
        title="Chats, conversations and failures"
        summary={`${formatNumber(totals.chats)} chats, ${formatNumber(totals.conversations)} conversations and ${formatNumber(totals.failed)} failures; busiest day ${busiest(daily, (d) => d.chats)}.`}
        days={charts.days}
        series={charts.volume}
        format={countFormat}
        tick={formatCompact}
        integer
      />
      <DailyChart
        title="Confidence"
        summary={`Average confidence ${formatShare(totals.avg_confidence)} over the range${meanConfidence === null ? "; no answers with a confidence" : ""}.`}
        days={charts.days}
        series={charts.confidence}
        format={percentFormat}
        max={100}
      />
      <DailyChart
        title="Feedback"
        summary={`${formatNumber(totals.positive_feedback)} thumbs up and ${formatNumber(totals.negative_feedback)} thumbs down.`}
        days={charts.days}
        series={charts.feedback}
        format={countFormat}
        tick={formatCompact}
        integer
      />
      <DailyChart
        title="Response time"
        summary={`Average ${formatMs(totals.avg_response_time_ms)}, 95th percentile ${formatMs(totals.p95_response_time_ms)}.`}
        days={charts.days}
        series={charts.speed}
        format={formatMs}
      />
    </div>
  );
}

export function TopQuestions({ items }: { items: TopQuestion[] }) {
  return (
    <RankedTable
      title="Top questions"
      nameHeader="Question"
      countHeader="Asked"
      empty={<Empty title="No questions in this range." />}
      rows={items.map((item) => ({ key: item.normalized, name: item.question, count: item.count }))}
      wrapNames
    />
  );
}

export function TopTopics({ items }: { items: TopTopic[] }) {
  return (
    <RankedTable
      title="Top topics"
      nameHeader="Topic"
      countHeader="Chats"
      empty={
        <Empty title="No topics in this range.">
          <p className="muted small">Topics appear when the bot's answers name one.</p>
        </Empty>
      }
      rows={items.map((item) => ({ key: item.topic, name: item.topic, count: item.count }))}
    />
  );
}

/** A card with a two-column ranking (name, count), or `empty` when there is nothing to rank. */
function RankedTable(props: {
  title: string;
  nameHeader: string;
  countHeader: string;
  empty: ReactNode;
  rows: { key: string; name: string; count: number }[];
  wrapNames?: boolean;
}) {
  const { title, nameHeader, countHeader, empty, rows, wrapNames = false } = props;
  return (
    <section className="card">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        empty
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={title}>
          <table>
            <thead>
              <tr>
                <th scope="col">{nameHeader}</th>
                <th scope="col" className="num">
                  {countHeader}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.key}>
                  <th scope="row" className={wrapNames ? "text-cell" : undefined}>
                    {row.name}
                  </th>
                  <td className="num">{formatNumber(row.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ReasonMix({ gap }: { gap: KnowledgeGap }) {
  const parts: [string, number, string][] = [
    ["failed", gap.reasons.failed, "failed"],
    ["low confidence", gap.reasons.low_confidence, "low"],
    ["thumbs down", gap.reasons.thumbs_down, "down"],
  ];
  const total = parts.reduce((sum, [, n]) => sum + n, 0) || 1;
  return (
    <div className="reasons">
      <div className="reason-bar" aria-hidden="true">
        {parts.map(([name, n, key]) => (n > 0 ? <span key={name} className={`reason reason--${key}`} style={{ width: `${(n / total) * 100}%` }} /> : null))}
      </div>
      <span className="small">
        {parts
          .filter(([, n]) => n > 0)
          .map(([name, n]) => `${formatNumber(n)} ${name}`)
          .join(", ")}
      </span>
    </div>
  );
}

/** Questions the bot could not answer well: what to add to its knowledge. */
export function KnowledgeGaps({ items, tz }: { items: KnowledgeGap[]; tz: string }) {
  return (
    <section className="card">
      <h2>Knowledge gaps</h2>
      <p className="muted small">Questions that failed, got a low-confidence answer or a thumbs-down: what the bot should learn next.</p>
      {items.length === 0 ? (
        <Empty title="No knowledge gaps in this range.">
          <p className="muted small">Every question got a confident answer and no thumbs-down.</p>
        </Empty>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Knowledge gaps">
          <table className="gaps">
            <thead>
              <tr>
                <th scope="col">Question</th>
                <th scope="col" className="num">
                  Count
                </th>
                <th scope="col">Why</th>
                <th scope="col">Last reply</th>
                <th scope="col">Last asked</th>
              </tr>
            </thead>
            <tbody>
              {items.map((gap) => (
                <tr key={gap.normalized}>
                  <th scope="row" className="text-cell">
                    {gap.question}
                  </th>
                  <td className="num">{formatNumber(gap.count)}</td>
                  <td>
                    <ReasonMix gap={gap} />
                  </td>
                  <td className="text-cell reply">{gap.last_reply ?? <span className="muted">No reply (failed)</span>}</td>
                  <td className="nowrap">{formatDateTimeIn(gap.last_asked_at, tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** "Download CSV": the export fetched with the session's token, saved by the browser. */
export function CsvButton({ path, choice, name, label = "Download CSV" }: { path: string; choice: RangeChoice; name: string; label?: string }) {
  const [state, setState] = useState<{ busy: boolean; done?: string; error?: string }>({ busy: false });
  async function download() {
    setState({ busy: true });
    try {
      const file = await downloadCsv(path, choice, `${name}.csv`);
      setState({ busy: false, done: `Downloaded ${file}.` });
    } catch (error) {
      setState({ busy: false, error: error instanceof ApiError ? error.message : "The download failed." });
    }
  }
  return (
    <span className="csv">
      <button type="button" className="button" onClick={download} disabled={state.busy}>
        {state.busy ? "Preparing CSV…" : label}
      </button>
      <span role="status" className="csv-status small">
        {state.done}
      </span>
      {state.error && (
        <span role="alert" className="field-error small">
          {state.error}
        </span>
      )}
    </span>
  );
}
