import { useState, type FormEvent } from "react";
import { api, ApiError, type LoginResponse } from "../api/client";
import { Field } from "../components/Field";
import { PageTitle } from "../components/Layout";
import { useSession } from "../session";

const MIN_LENGTH = 12;

export function Password() {
  const { signIn } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(false);
    const found: Record<string, string> = {};
    if (next.length < MIN_LENGTH) found.new_password = `Use ${MIN_LENGTH} characters at least.`;
    if (repeat !== next) found.repeat = "The two new passwords differ.";
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      const response = await api<LoginResponse>("/v1/auth/password", {
        method: "POST",
        body: { current_password: current, new_password: next },
      });
      signIn(response); // the old token ended with the change; this one is fresh
      setCurrent("");
      setNext("");
      setRepeat("");
      setDone(true);
    } catch (reason) {
      if (reason instanceof ApiError && reason.status === 422) {
        const fields = reason.fieldErrors();
        setErrors(Object.keys(fields).length ? fields : { new_password: reason.message });
      } else if (reason instanceof ApiError && reason.code === "invalid_credentials") {
        setErrors({ current_password: "The current password is wrong." });
      } else {
        setErrors({ form: reason instanceof ApiError ? reason.message : "The password could not be changed." });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <PageTitle>Change your password</PageTitle>
      <form className="card form" onSubmit={submit} noValidate>
        <div role="status" aria-live="polite" className="notice-region">
          {done && <p className="notice notice--ok">Your password is changed. Your other sessions have ended.</p>}
        </div>
        <div role="alert" className="notice-region">
          {errors.form && <p className="notice notice--error">{errors.form}</p>}
        </div>
        <Field label="Current password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} error={errors.current_password} />
        <Field label="New password" type="password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} error={errors.new_password} hint={`${MIN_LENGTH} characters at least.`} />
        <Field label="New password again" type="password" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} error={errors.repeat} />
        <button type="submit" className="button button--primary" disabled={busy || !current}>
          {busy ? "Changing…" : "Change password"}
        </button>
      </form>
    </section>
  );
}
