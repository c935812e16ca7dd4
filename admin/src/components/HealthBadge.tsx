import type { HealthStatus } from "../api/client";
import { formatDateTime } from "../format";

const LABELS: Record<HealthStatus, string> = { healthy: "Healthy", failing: "Failing", unknown: "Not checked" };

export function HealthBadge({ status, checkedAt }: { status: HealthStatus; checkedAt?: string | null }) {
  return (
    <span className="health">
      <span className={`badge badge--${status}`}>{LABELS[status]}</span>
      {checkedAt !== undefined && (
        <span className="muted small"> {checkedAt ? `checked ${formatDateTime(checkedAt)}` : "never checked"}</span>
      )}
    </span>
  );
}
