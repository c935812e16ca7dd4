import { useEffect, useState, type FormEvent } from "react";
import { Navigate, useLocation } from "react-router";
import { api, ApiError, type LoginResponse } from "../api/client";
import { Field } from "../components/Field";
import { useSession } from "../session";

export function SignIn() {
  const { status, user, notice, signIn } = useSession();
  const location = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = "Sign in · Chat widgets";
  }, []);

  if (status === "signed-in") {
    // Back to the page the user was sent here from, unless it was another user's (after a sign-out).
    const state = location.state as { from?: string; userId?: string | null } | null;
    const from = state?.from && (!state.userId || state.userId === user?.id) ? state.from : "/";
    return <Navigate to={from !== "/signin" ? from : "/"} replace />;
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      signIn(await api<LoginResponse>("/v1/auth/login", { method: "POST", body: { email, password }, anonymous: true }));
    } catch (reason) {
      if (reason instanceof ApiError && reason.status === 401) setError("The email or the password is wrong.");
      else if (reason instanceof ApiError && reason.status === 429) setError("Too many attempts. Wait a minute, then try again.");
      else setError(reason instanceof ApiError ? reason.message : "Sign-in failed. Try again.");
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin">
      <form className="card signin-card" onSubmit={submit} noValidate>
        <h1>Sign in</h1>
        <p className="muted">Chat widget platform: administrators and client dashboards.</p>
        <div aria-live="polite" role="status" className="notice-region">
          {notice && !error && <p className="notice">{notice}</p>}
        </div>
        <div aria-live="assertive" role="alert" className="notice-region">
          {error && <p className="notice notice--error">{error}</p>}
        </div>
        <Field label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        <Field label="Password" type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" className="button button--primary" disabled={busy || !email || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
