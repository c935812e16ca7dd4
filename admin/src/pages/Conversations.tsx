// A widget's conversations (visitor sessions), the most recently active first: filter by day, open a
// transcript, erase one (GDPR), or select several and delete their chat logs.
import { useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import {
  dayStart,
  deleteConversations,
  eraseConversation,
  messages,
  shortSession,
  type Conversation,
  type ConversationPage,
  type Widget,
} from "../api/ops";
import { useApi } from "../api/useApi";
import { ConfirmDialog } from "../components/Dialog";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { count, formatDateTime, formatNumber } from "../format";
import { useSelection } from "../components/useSelection";

const PAGE_SIZE = 20;

export function Conversations() {
  const { widgetId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const [draft, setDraft] = useState({ from, to });
  const widget = useApi<Widget>(`/v1/admin/widgets/${widgetId}`);
  const page = useApi<ConversationPage>(`/v1/admin/widgets/${widgetId}/conversations`, {
    from: from ? dayStart(from) : "",
    to: to ? dayStart(to, 1) : "",
    limit: PAGE_SIZE,
    offset,
  });
  const [confirming, setConfirming] = useState<Conversation[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const name = widget.data?.name;
  const items = page.data?.items ?? [];
  const selection = useSelection(items, (c) => c.session_id);
  const chosen = selection.chosen;
  const filtered = Boolean(from || to);

  function go(next: { from?: string; to?: string; offset?: number }) {
    const values = new URLSearchParams();
    const f = next.from ?? from;
    const t = next.to ?? to;
    if (f) values.set("from", f);
    if (t) values.set("to", t);
    if (next.offset) values.set("offset", String(next.offset));
    selection.clear();
    setParams(values);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    go({ from: draft.from, to: draft.to, offset: 0 });
  }

  function ask(conversations: Conversation[]) {
    setDialogError(null);
    setConfirming(conversations);
  }

  async function confirmDelete() {
    if (!confirming) return;
    setBusy(true);
    setDialogError(null);
    try {
      if (confirming.length === 1) {
        const counts = await eraseConversation(widgetId, confirming[0].session_id);
        setMessage({
          ok: true,
          text: `Erased conversation ${shortSession(confirming[0].session_id)}: ${count(counts.chat_logs, "chat log")} deleted.`,
        });
      } else {
        const counts = await deleteConversations(
          widgetId,
          confirming.map((c) => c.session_id),
        );
        setMessage({
          ok: true,
          text: `Deleted ${count(confirming.length, "conversation")}: ${count(counts.chat_logs, "chat log")} deleted.`,
        });
      }
      setConfirming(null);
      selection.clear();
      page.reload();
    } catch (reason) {
      setDialogError(reason instanceof Error ? reason.message : "The conversations could not be deleted.");
    } finally {
      setBusy(false);
    }
  }

  const chosenMessages = (confirming ?? []).reduce((sum, c) => sum + c.message_count, 0);

  return (
    <section className="ops-page">
      <p className="breadcrumb">
        <Link to={`/widgets/${widgetId}`}>{name ?? "Widget"}</Link>
      </p>
      <PageTitle>{name ? `Conversations of ${name}` : "Conversations"}</PageTitle>
      {widget.error && <ErrorState error={widget.error} retry={widget.reload} what="the widget" />}
      <form className="filters" aria-label="Filter conversations by day" onSubmit={submit}>
        <div className="filter">
          <label htmlFor="conv-from">From</label>
          <input id="conv-from" type="date" value={draft.from} max={draft.to || undefined} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </div>
        <div className="filter">
          <label htmlFor="conv-to">To (inclusive)</label>
          <input id="conv-to" type="date" value={draft.to} min={draft.from || undefined} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </div>
        <button type="submit" className="button">
          Show
        </button>
        {filtered && (
          <button type="button" className="button button--quiet" onClick={() => { setDraft({ from: "", to: "" }); go({ from: "", to: "", offset: 0 }); }}>
            All days
          </button>
        )}
      </form>
      <div role="status" aria-live="polite" className="notice-region">
        {message && <p className={`notice ${message.ok ? "notice--ok" : "notice--error"}`}>{message.text}</p>}
      </div>
      {page.loading && !page.data ? (
        <Loading what="conversations" />
      ) : page.error ? (
        <ErrorState error={page.error} retry={page.reload} what="conversations" />
      ) : page.data && items.length === 0 && offset > 0 ? (
        <Empty title="No more conversations on this page.">
          <button type="button" className="button" onClick={() => go({ offset: 0 })}>
            Go to the first page
          </button>
        </Empty>
      ) : page.data && items.length === 0 ? (
        <Empty title={filtered ? "No conversation on these days." : "No conversations yet."}>
          <p className="muted">
            {filtered ? "Choose other days, or show all days." : "Conversations appear here once visitors chat with this widget."}
          </p>
        </Empty>
      ) : page.data ? (
        <>
          <div className="bulk-bar" aria-label="Selected conversations" role="group">
            <span>{chosen.length ? `${count(chosen.length, "conversation")} selected` : "Select conversations to delete several at once."}</span>
            <button type="button" className="button button--small button--danger-quiet" disabled={chosen.length === 0} onClick={() => ask(chosen)}>
              Delete selected
            </button>
          </div>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Conversations" aria-busy={page.loading}>
            <table>
              <thead>
                <tr>
                  <th scope="col" className="select-col">
                    <input
                      type="checkbox"
                      aria-label="Select every conversation on this page"
                      checked={selection.allOnPage}
                      onChange={(e) => selection.setAll(e.target.checked)}
                    />
                  </th>
                  <th scope="col">Session</th>
                  <th scope="col">Last message</th>
                  <th scope="col">Started</th>
                  <th scope="col" className="num">Messages</th>
                  <th scope="col" className="num">Failed</th>
                  <th scope="col">Feedback</th>
                  <th scope="col"><span className="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => {
                  const short = shortSession(c.session_id);
                  return (
                    <tr key={c.session_id} className={c.failed_count > 0 ? "row--failing" : undefined}>
                      <td className="select-col">
                        <input
                          type="checkbox"
                          aria-label={`Select conversation ${short}`}
                          checked={selection.has(c)}
                          onChange={(e) => selection.toggle(c, e.target.checked)}
                        />
                      </td>
                      <th scope="row">
                        <Link className="mono" to={`/widgets/${widgetId}/conversations/${encodeURIComponent(c.session_id)}`} aria-label={`Transcript of conversation ${short}`} title={c.session_id}>
                          {short}
                        </Link>
                      </th>
                      <td className="nowrap">{formatDateTime(c.last_message_at)}</td>
                      <td className="nowrap">{formatDateTime(c.first_message_at)}</td>
                      <td className="num">{formatNumber(c.message_count)}</td>
                      <td className="num">
                        {c.failed_count > 0 ? <span className="badge badge--failing">{formatNumber(c.failed_count)} failed</span> : <span className="muted">0</span>}
                      </td>
                      <td>
                        <FeedbackCounts up={c.feedback.up} down={c.feedback.down} />
                      </td>
                      <td className="actions">
                        <button type="button" className="button button--small button--danger-quiet" aria-label={`Erase conversation ${short}`} onClick={() => ask([c])}>
                          Erase
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} limit={PAGE_SIZE} total={page.data.total} onPage={(next) => go({ offset: next })} />
        </>
      ) : null}
      {confirming && (
        <ConfirmDialog
          title={confirming.length === 1 ? `Erase conversation ${shortSession(confirming[0].session_id)}?` : `Delete ${count(confirming.length, "conversation")}?`}
          confirmLabel={confirming.length === 1 ? "Erase conversation" : `Delete ${count(confirming.length, "conversation")}`}
          busy={busy}
          error={dialogError}
          onConfirm={confirmDelete}
          onCancel={() => setConfirming(null)}
        >
          <p>
            This deletes every chat log of {confirming.length === 1 ? "this visitor session" : <strong>{count(confirming.length, "visitor session")}</strong>} of{" "}
            {name ? <strong>{name}</strong> : "this widget"}: <strong>{messages(chosenMessages)}</strong>
            {filtered ? " on the chosen days, and any on other days" : ""}, with their replies and feedback.
          </p>
          {confirming.length > 1 && confirming.length <= 10 && (
            <ul className="small mono">
              {confirming.map((c) => (
                <li key={c.session_id}>{c.session_id}</li>
              ))}
            </ul>
          )}
          <p>This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

export function FeedbackCounts({ up, down }: { up: number; down: number }) {
  if (up === 0 && down === 0) return <span className="muted">None</span>;
  return (
    <span className="feedback-counts">
      {up > 0 && (
        <span className="feedback feedback--up">
          <Thumb direction="up" /> {formatNumber(up)}
          <span className="visually-hidden"> helpful</span>
        </span>
      )}
      {down > 0 && (
        <span className="feedback feedback--down">
          <Thumb direction="down" /> {formatNumber(down)}
          <span className="visually-hidden"> not helpful</span>
        </span>
      )}
    </span>
  );
}

// Feather's thumbs icons (MIT); decorative, the text beside them says what they mean.
const THUMB_PATHS = {
  up: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
  down: "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17",
};

export function Thumb({ direction }: { direction: "up" | "down" }) {
  return (
    <svg className="thumb" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <path d={THUMB_PATHS[direction]} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
