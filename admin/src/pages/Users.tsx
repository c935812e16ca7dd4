// Users (admin): who can sign in. Create an admin or a client viewer (of one client), with a
// chosen or a generated password (shown once); search, filter by role, delete with a confirmation.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ApiError, type ClientPage } from "../api/client";
import { useClientChoices } from "../api/clients";
import type { UserCreate, UserCreated, UserOut, UserPage } from "../api/ops";
import { useApi } from "../api/useApi";
import { CopyButton } from "../components/CopyButton";
import { ConfirmDialog } from "../components/Dialog";
import { Field, SelectField } from "../components/Field";
import { PageTitle } from "../components/Layout";
import { Pager } from "../components/Pager";
import { Empty, ErrorState, Loading } from "../components/states";
import { formatDate, formatDateTime } from "../format";
import { useSession } from "../session";

const PAGE_SIZE = 20;
const ROLE_LABELS: Record<UserOut["role"], string> = { admin: "Administrator", client: "Client viewer" };
// The API's error codes that belong to one field of the form.
const FIELD_OF_CODE: Record<string, string> = {
  email_taken: "email",
  weak_password: "password",
  unknown_client: "client_id",
};

export function Users() {
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const role = params.get("role") ?? "";
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const [draft, setDraft] = useState(search);
  const page = useApi<UserPage>("/v1/admin/users", { search, role, limit: PAGE_SIZE, offset });
  const clients = useClientChoices();
  const { user: me } = useSession();
  const [deleting, setDeleting] = useState<UserOut | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const clientNames = new Map((clients.data?.items ?? []).map((c) => [c.id, c.name]));

  function go(next: { q?: string; role?: string; offset?: number }) {
    const values = new URLSearchParams();
    const q = next.q ?? search;
    const r = next.role ?? role;
    if (q) values.set("q", q);
    if (r) values.set("role", r);
    if (next.offset) values.set("offset", String(next.offset));
    setParams(values);
  }

  async function confirmDelete() {
    if (!deleting) return;
    setBusy(true);
    setDeleteError(null);
    try {
      await api(`/v1/admin/users/${deleting.id}`, { method: "DELETE" });
      setMessage(`Deleted ${deleting.email}: their sessions have ended.`);
      setDeleting(null);
      page.reload();
    } catch (reason) {
      setDeleteError(reason instanceof ApiError ? reason.message : "The user could not be deleted.");
    } finally {
      setBusy(false);
    }
  }

  const filtered = Boolean(search || role);
  return (
    <section className="ops-page">
      <PageTitle>Users</PageTitle>
      <div className="users-layout">
        <div className="users-list">
          <h2 className="section-heading">Who can sign in</h2>
          <form className="toolbar" role="search" aria-label="Users" onSubmit={(e) => { e.preventDefault(); go({ q: draft.trim(), offset: 0 }); }}>
            <label htmlFor="user-search">Search users</label>
            <input id="user-search" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Email" />
            <button type="submit" className="button">
              Search
            </button>
            <label htmlFor="user-role">Role</label>
            <select id="user-role" value={role} onChange={(e) => go({ role: e.target.value, offset: 0 })}>
              <option value="">Everyone</option>
              <option value="admin">Administrators</option>
              <option value="client">Client viewers</option>
            </select>
            {filtered && (
              <button type="button" className="button button--quiet" onClick={() => { setDraft(""); go({ q: "", role: "", offset: 0 }); }}>
                Clear
              </button>
            )}
          </form>
          <div role="status" aria-live="polite" className="notice-region">
            {message && <p className="notice notice--ok">{message}</p>}
          </div>
          {page.loading && !page.data ? (
            <Loading what="users" />
          ) : page.error ? (
            <ErrorState error={page.error} retry={page.reload} what="users" />
          ) : page.data && page.data.items.length === 0 && offset > 0 ? (
            <Empty title="No more users on this page.">
              <button type="button" className="button" onClick={() => go({ offset: 0 })}>
                Go to the first page
              </button>
            </Empty>
          ) : page.data && page.data.items.length === 0 ? (
            <Empty title={filtered ? "No user matches." : "No users."}>
              <p className="muted">{filtered ? "Try another email or role." : "Add one above."}</p>
            </Empty>
          ) : page.data ? (
            <>
              <div className="table-wrap" tabIndex={0} role="region" aria-label="Users">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Email</th>
                      <th scope="col">Role</th>
                      <th scope="col">Client</th>
                      <th scope="col">Last sign-in</th>
                      <th scope="col">Created</th>
                      <th scope="col"><span className="visually-hidden">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.items.map((user) => {
                      const isMe = user.id === me?.id;
                      return (
                        <tr key={user.id}>
                          <th scope="row" className="nowrap">
                            {user.email}
                            {isMe && <span className="muted small"> (you)</span>}
                          </th>
                          <td>
                            <span className={`badge badge--role-${user.role}`}>{ROLE_LABELS[user.role]}</span>
                          </td>
                          <td>
                            {user.client_id ? (
                              <Link to={`/clients/${user.client_id}`}>{clientNames.get(user.client_id) ?? "Client"}</Link>
                            ) : (
                              <span className="muted">—</span>
                            )}
                          </td>
                          <td className="nowrap">{user.last_login_at ? formatDateTime(user.last_login_at) : <span className="muted">Never</span>}</td>
                          <td className="nowrap">{formatDate(user.created_at)}</td>
                          <td className="actions">
                            {isMe ? (
                              <Link className="button button--small" to="/account/password">
                                Change password
                              </Link>
                            ) : (
                              <button
                                type="button"
                                className="button button--small button--danger-quiet"
                                aria-label={`Delete ${user.email}`}
                                onClick={() => { setDeleteError(null); setDeleting(user); }}
                              >
                                Delete
                              </button>
                            )}
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
        </div>
        <NewUser clients={clients.data} onCreated={(text) => { setMessage(text); page.reload(); }} />
      </div>
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting.email}?`}
          confirmLabel="Delete user"
          busy={busy}
          error={deleteError}
          onConfirm={confirmDelete}
          onCancel={() => setDeleting(null)}
        >
          <p>
            This deletes the {ROLE_LABELS[deleting.role].toLowerCase()} account <strong className="break">{deleting.email}</strong>
            {deleting.role === "client" && deleting.client_id
              ? `, who can then no longer see the dashboard of ${clientNames.get(deleting.client_id) ?? "their client"}`
              : ", who can then no longer manage clients, widgets or users"}
            . Their sessions end at once.{deleting.role === "client" && " The client's widgets and conversations stay."}
          </p>
          <p>This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function NewUser({ clients, onCreated }: { clients: ClientPage | null; onCreated(message: string): void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<UserOut["role"]>("client");
  const [clientId, setClientId] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<UserCreated | null>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  // A generated password is shown once: bring it into view, focused and selected, to be copied.
  useEffect(() => {
    if (created?.password) passwordRef.current?.focus();
  }, [created]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problems: Record<string, string> = {};
    if (role === "client" && !clientId) problems.client_id = "Choose the client whose dashboard this viewer sees.";
    if (Object.keys(problems).length) {
      setErrors(problems);
      return;
    }
    setBusy(true);
    setErrors({});
    setCreated(null);
    const body: UserCreate = {
      email: email.trim(),
      role,
      client_id: role === "client" ? clientId : null,
      password: password || null,
    };
    try {
      const user = await api<UserCreated>("/v1/admin/users", { method: "POST", body });
      setCreated(user);
      setEmail("");
      setPassword("");
      const client = user.client_id ? clients?.items.find((c) => c.id === user.client_id)?.name : undefined;
      onCreated(`Created ${ROLE_LABELS[user.role].toLowerCase()} ${user.email}${client ? ` for ${client}` : ""}.`);
    } catch (reason) {
      if (reason instanceof ApiError) {
        const field = FIELD_OF_CODE[reason.code];
        const fields = reason.status === 422 ? reason.fieldErrors() : {};
        if (field) setErrors({ [field]: reason.message });
        else if (Object.keys(fields).length) setErrors(fields);
        else setErrors({ form: reason.message });
      } else {
        setErrors({ form: "The user could not be created." });
      }
    } finally {
      setBusy(false);
    }
  }

  const fieldCount = Object.keys(errors).filter((k) => k !== "form").length;
  return (
    <form className="card form new-user" onSubmit={submit} noValidate aria-labelledby="new-user-heading">
      <h2 id="new-user-heading">Add a user</h2>
      <div role="alert" className="notice-region">
        {errors.form ? (
          <p className="notice notice--error">{errors.form}</p>
        ) : fieldCount > 0 ? (
          <p className="notice notice--error">Check the fields marked below.</p>
        ) : null}
      </div>
      <Field label="Email" type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
      <fieldset>
        <legend>Role</legend>
        <div className="choices">
          <label className="choice">
            <input type="radio" name="role" value="client" checked={role === "client"} onChange={() => setRole("client")} />
            Client viewer <span className="muted small">— sees one client's analytics, nothing else</span>
          </label>
          <label className="choice">
            <input type="radio" name="role" value="admin" checked={role === "admin"} onChange={() => setRole("admin")} />
            Administrator <span className="muted small">— manages every client, widget and user</span>
          </label>
        </div>
      </fieldset>
      {role === "client" && (
        <SelectField label="Client" required value={clientId} onChange={setClientId} error={errors.client_id}>
          <option value="">Choose a client…</option>
          {(clients?.items ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </SelectField>
      )}
      <Field
        label="Password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
        hint="At least 12 characters. Leave it empty to have one generated (shown once)."
      />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? "Creating…" : "Create user"}
        </button>
      </div>
      {created?.password && (
        <div className="secret-once">
          <p className="warning">
            <strong>The password of {created.email}, shown this once: you will not see it again.</strong> Give it to them
            privately; they can change it after signing in.
          </p>
          <label htmlFor="new-user-password">Generated password</label>
          <div className="copy-row">
            <input ref={passwordRef} id="new-user-password" className="mono" readOnly value={created.password} onFocus={(e) => e.target.select()} />
            <CopyButton text={created.password} label="Copy password" />
          </div>
        </div>
      )}
    </form>
  );
}
