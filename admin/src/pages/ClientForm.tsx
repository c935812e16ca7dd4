// Create a client (/clients/new) or change one (/clients/:clientId).
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError, type Client } from "../api/client";
import { useApi } from "../api/useApi";
import { Field } from "../components/Field";
import { PageTitle } from "../components/Layout";
import { ErrorState, Loading } from "../components/states";
import { count } from "../format";

export function ClientForm() {
  const { clientId } = useParams();
  const existing = useApi<Client>(clientId ? `/v1/admin/clients/${clientId}` : null);
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [company, setCompany] = useState("");
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (existing.data) {
      setName(existing.data.name);
      setCompany(existing.data.company_name ?? "");
      setEmail(existing.data.contact_email ?? "");
    }
  }, [existing.data]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    const body = { name: name.trim(), company_name: company.trim() || null, contact_email: email.trim() || null };
    try {
      if (clientId) await api<Client>(`/v1/admin/clients/${clientId}`, { method: "PATCH", body });
      else await api<Client>("/v1/admin/clients", { method: "POST", body });
      navigate(`/clients?q=${encodeURIComponent(body.name)}`);
    } catch (reason) {
      if (reason instanceof ApiError && reason.status === 422) {
        const fields = reason.fieldErrors();
        setErrors(Object.keys(fields).length ? fields : { form: reason.message });
      } else {
        setErrors({ form: reason instanceof ApiError ? reason.message : "The client could not be saved." });
      }
      setBusy(false);
    }
  }

  if (clientId && existing.loading) return <Loading what="the client" />;
  if (clientId && existing.error) return <ErrorState error={existing.error} retry={existing.reload} what="the client" />;

  return (
    <section>
      <PageTitle>{clientId ? `Edit ${existing.data?.name ?? "client"}` : "New client"}</PageTitle>
      {existing.data && (
        <p>
          <Link to={`/widgets?client_id=${existing.data.id}`}>{count(existing.data.widget_count, "widget")}</Link>
          {" · "}
          <Link to={`/widgets/new?client_id=${existing.data.id}`}>Add a widget</Link>
        </p>
      )}
      <form className="card form" onSubmit={submit} noValidate>
        <div role="alert" className="notice-region">
          {errors.form && <p className="notice notice--error">{errors.form}</p>}
        </div>
        <Field label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
        <Field label="Company" maxLength={200} value={company} onChange={(e) => setCompany(e.target.value)} error={errors.company_name} />
        <Field label="Contact email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.contact_email} />
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? "Saving…" : clientId ? "Save changes" : "Create client"}
          </button>
          <Link className="button button--quiet" to="/clients">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
