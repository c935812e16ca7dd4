import { Link } from "react-router";
import { PageTitle } from "../components/Layout";
import { useSession } from "../session";

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
        </ul>
      </section>
    );
  }
  return (
    <section>
      <PageTitle>Dashboard</PageTitle>
      <p>Signed in as {user?.email}.</p>
      <div className="state state--empty">
        <p>
          <strong>Your analytics will appear here.</strong>
        </p>
        <p className="muted">Chats, conversations, top questions and knowledge gaps of your widgets.</p>
      </div>
    </section>
  );
}
