// A demo widget's expiry: the time left (kept current) and extending it by a TTL from now.
import { useEffect, useState } from "react";
import type { WidgetSummary } from "../../api/client";
import { widgetApi, type WidgetOut } from "../../api/widgets";
import { formatDateTime } from "../../format";
import { errorMessage, timeLeft, TTL_CHOICES } from "./parts";

/** The current time, renewed every 30 seconds (for "time left"). */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

export function DemoExpiry({ widget, onSaved, compact }: { widget: WidgetOut | WidgetSummary; onSaved(widget: WidgetOut): void; compact?: boolean }) {
  const now = useNow();
  const [hours, setHours] = useState(String(TTL_CHOICES[1][0]));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  return (
    <div className={compact ? "demo-expiry" : "card demo-expiry"}>
      {!compact && <h2>Demo</h2>}
      <p>
        Expires {formatDateTime(widget.expires_at)} · <strong>{timeLeft(widget.expires_at, now)}</strong>
      </p>
      {!compact && widget.demo_url && (
        <p>
          <a href={widget.demo_url} target="_blank" rel="noreferrer">
            Open the demo page
          </a>
        </p>
      )}
      <form
        className="toolbar"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError("");
          try {
            onSaved(await widgetApi.update(widget.id, { ttl_hours: Number(hours) }));
          } catch (reason) {
            setError(errorMessage(reason, "The expiry could not be changed."));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor={`extend-${widget.id}`}>{compact ? `Extend ${widget.name}: available for` : "Available for"}</label>
        <select id={`extend-${widget.id}`} value={hours} onChange={(e) => setHours(e.target.value)}>
          {TTL_CHOICES.map(([value, label]) => (
            <option key={value} value={value}>
              {label} from now
            </option>
          ))}
        </select>
        <button type="submit" className="button" disabled={busy}>
          {busy ? "Extending…" : "Extend"}
        </button>
      </form>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
