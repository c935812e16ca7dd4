import { Link } from "react-router";
import { PageTitle } from "../components/Layout";
import { Empty } from "../components/states";
import { useSession } from "../session";
import { ClientDashboard } from "./analytics/lazy";

export function Dashboard() {
  const { user } = useSession();
  if (user?.role === "admin") {
    return (
      <section>
        <PageTitle>Dashboard</PageTitle>
        <p>Signed in as {user.email} (administrator).</p>
        <ul className="tiles">
          <li className="card">
            <h2>
              <Link to="/clients">Clients</Link>
            </h2>
            <p className="muted">The businesses you run chat widgets for.</p>
          </li>
          <li className="card">
            <h2>
              <Link to="/widgets">Widgets</Link>
            </h2>
            <p className="muted">Every widget, its webhook health and its embed snippet.</p>
          </li>
          <li className="card">
            <h2>
              <Link to="/analytics">Analytics</Link>
            </h2>
            <p className="muted">Chats, knowledge gaps and CSV exports, per widget and per client.</p>
          </li>
        </ul>
      </section>
    );
  }
  // A client viewer's dashboard is its client's analytics.
  return (
    <section>
      <PageTitle>Dashboard</PageTitle>
      {user?.client_id ? (
        <ClientDashboard clientId={user.client_id} />
      ) : (
        <Empty title="Your account is not linked to a client.">
          <p className="muted">Ask the agency that runs your chat widget to link it.</p>
        </Empty>
      )}
    </section>
  );
}
