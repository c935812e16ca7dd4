// Loading, error and empty states: every page shows one of these rather than a blank screen.
import type { ReactNode } from "react";
import type { ApiError } from "../api/client";

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state--loading" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorState({ error, retry, what }: { error: ApiError; retry?: () => void; what: string }) {
  return (
    <div className="state state--error" role="alert">
      <p>
        <strong>Could not load {what}.</strong> {error.message}
      </p>
      {retry && (
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state--empty">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}
