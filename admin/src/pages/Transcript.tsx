// One visitor session's transcript, oldest first: every message with its reply, failures and
// feedback marked; and erasing the conversation (a visitor's GDPR request), saying what went.
import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError } from "../api/client";
import { eraseConversation, messages, shortSession, type ChatLog, type ChatLogPage, type Widget } from "../api/ops";
import { useApi } from "../api/useApi";
import { ConfirmDialog } from "../components/Dialog";
import { PageTitle } from "../components/Layout";
import { Empty, ErrorState, Loading } from "../components/states";
import { count, formatDateTime, formatNumber } from "../format";
import { FeedbackCounts, Thumb } from "./Conversations";

const PAGE = 200; // the API's largest page
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });

interface Loaded {
  /** Newest first, as the API pages them. */
  logs: ChatLog[];
  nextCursor: string | null;
}

function useTranscript(widgetId: string, sessionId: string) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [generation, setGeneration] = useState(0);

  const fetchPage = useCallback(
    (cursor: string | null, signal?: AbortSignal) =>
      api<ChatLogPage>("/v1/admin/chat-logs", {
        query: { widget_id: widgetId, session_id: sessionId, limit: PAGE, cursor },
        signal,
      }),
    [widgetId, sessionId],
  );

  useEffect(() => {
    const controller = new AbortController();
    setLoaded(null);
    setError(null);
    fetchPage(null, controller.signal)
      .then((page) => setLoaded({ logs: page.items, nextCursor: page.next_cursor }))
      .catch((reason: unknown) => {
        if (reason instanceof DOMException && reason.name === "AbortError") return;
        setError(reason instanceof ApiError ? reason : new ApiError(0, "unknown", String(reason)));
      });
    return () => controller.abort();
  }, [fetchPage, generation]);

  async function loadEarlier() {
    if (!loaded?.nextCursor) return;
    setLoadingMore(true);
    try {
      const page = await fetchPage(loaded.nextCursor);
      setLoaded({ logs: [...loaded.logs, ...page.items], nextCursor: page.next_cursor });
    } catch (reason) {
      setError(reason instanceof ApiError ? reason : new ApiError(0, "unknown", String(reason)));
    } finally {
      setLoadingMore(false);
    }
  }

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { loaded, error, loadingMore, loadEarlier, reload };
}

export function Transcript() {
  const { widgetId = "", sessionId = "" } = useParams();
  const widget = useApi<Widget>(`/v1/admin/widgets/${widgetId}`);
  const transcript = useTranscript(widgetId, sessionId);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [erased, setErased] = useState<number | null>(null);
  const name = widget.data?.name;
  const listLink = `/widgets/${widgetId}/conversations`;
  const short = shortSession(sessionId);

  async function erase() {
    setBusy(true);
    setDialogError(null);
    try {
      const counts = await eraseConversation(widgetId, sessionId);
      setErased(counts.chat_logs);
      setConfirming(false);
    } catch (reason) {
      setDialogError(reason instanceof ApiError ? reason.message : "The conversation could not be erased.");
    } finally {
      setBusy(false);
    }
  }

  const logs = transcript.loaded?.logs ?? [];
  const more = Boolean(transcript.loaded?.nextCursor);
  const failed = logs.filter((l) => l.status === "failed").length;
  const up = logs.filter((l) => l.feedback === "up").length;
  const down = logs.filter((l) => l.feedback === "down").length;
  const atLeast = more ? "at least " : "";

  return (
    <section className="ops-page">
      <p className="breadcrumb">
        <Link to={`/widgets/${widgetId}`}>{name ?? "Widget"}</Link> <span aria-hidden="true">›</span>{" "}
        <Link to={listLink}>Conversations</Link>
      </p>
      <PageTitle
        actions={
          erased === null && logs.length > 0 ? (
            <button type="button" className="button button--danger-quiet" onClick={() => { setDialogError(null); setConfirming(true); }}>
              Erase conversation
            </button>
          ) : undefined
        }
      >
        {`Conversation ${short}`}
      </PageTitle>
      <div role="status" aria-live="polite" className="notice-region">
        {erased !== null && (
          <div className="notice notice--ok">
            <p>
              Conversation erased: {count(erased, "chat log")} deleted (every message, reply and feedback of this session).
            </p>
            <p>
              <Link to={listLink}>Back to the conversations{name ? ` of ${name}` : ""}</Link>
            </p>
          </div>
        )}
      </div>
      {erased !== null ? null : transcript.error ? (
        <ErrorState error={transcript.error} retry={transcript.reload} what="the transcript" />
      ) : !transcript.loaded ? (
        <Loading what="the transcript" />
      ) : logs.length === 0 ? (
        <Empty title="Nothing in this conversation.">
          <p>
            It has no messages (it may have been erased). <Link to={listLink}>Back to the conversations</Link>
          </p>
        </Empty>
      ) : (
        <>
          <dl className="transcript-summary card">
            <div>
              <dt>Session</dt>
              <dd className="mono break">{sessionId}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{more ? "—" : formatDateTime(logs[logs.length - 1].created_at)}</dd>
            </div>
            <div>
              <dt>Last message</dt>
              <dd>{formatDateTime(logs[0].created_at)}</dd>
            </div>
            <div>
              <dt>Messages</dt>
              <dd>
                {atLeast}
                {formatNumber(logs.length)}
              </dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd>{failed > 0 ? <span className="badge badge--failing">{formatNumber(failed)} failed</span> : "None"}</dd>
            </div>
            <div>
              <dt>Feedback</dt>
              <dd>
                <FeedbackCounts up={up} down={down} />
              </dd>
            </div>
          </dl>
          {more && (
            <p>
              <button type="button" className="button" disabled={transcript.loadingMore} onClick={transcript.loadEarlier}>
                {transcript.loadingMore ? "Loading…" : "Show earlier messages"}
              </button>
            </p>
          )}
          <ol className="transcript" aria-label={`Transcript, ${messages(logs.length)}, oldest first`}>
            {[...logs].reverse().map((log) => (
              <Exchange key={log.id} log={log} widgetId={widgetId} />
            ))}
          </ol>
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Erase conversation ${short}?`}
          confirmLabel="Erase conversation"
          busy={busy}
          error={dialogError}
          onConfirm={erase}
          onCancel={() => setConfirming(false)}
        >
          <p>
            This deletes every chat log of this visitor session of {name ? <strong>{name}</strong> : "the widget"}:{" "}
            <strong>
              {atLeast}
              {messages(logs.length)}
            </strong>{" "}
            with their replies and feedback. Use it for a visitor's erasure request.
          </p>
          <p>This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function Exchange({ log, widgetId }: { log: ChatLog; widgetId: string }) {
  const failed = log.status === "failed";
  return (
    <li className={`exchange${failed ? " exchange--failed" : ""}${log.feedback === "down" ? " exchange--down" : ""}`}>
      <p className="exchange-meta small">
        <time dateTime={log.created_at}>{formatDateTime(log.created_at)}</time>
        {log.topic && <span> · topic {log.topic}</span>}
        {log.confidence != null && <span> · confidence {percent.format(log.confidence)}</span>}
        {log.response_time_ms != null && <span> · {formatNumber(log.response_time_ms)} ms</span>}
      </p>
      <div className="bubble bubble--visitor">
        <span className="bubble-who">Visitor</span>
        <p>{log.message}</p>
      </div>
      {failed ? (
        <div className="bubble bubble--failed">
          <span className="bubble-who">
            <span className="badge badge--failing">Failed</span>
          </span>
          <p>
            No reply: the workflow failed and the visitor saw the widget's fallback message.{" "}
            <Link to={`/health?widget=${widgetId}`}>See the webhook errors</Link>
          </p>
        </div>
      ) : (
        <div className="bubble bubble--bot">
          <span className="bubble-who">Bot</span>
          <p>{log.response}</p>
        </div>
      )}
      {log.feedback && (
        <p className={`feedback feedback--${log.feedback}`}>
          <Thumb direction={log.feedback} />{" "}
          {log.feedback === "up" ? "The visitor found this helpful" : "The visitor found this not helpful"}
        </p>
      )}
    </li>
  );
}
