// The frame of every signed-in page: a skip link, the navigation (admin sections only for admins),
// who is signed in, sign-out; and the guards that send to sign-in or show "not allowed".
import { useEffect, useRef, type ReactNode } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router";
import { useSession } from "../session";

export function Layout() {
  const { user, signOut } = useSession();
  const isAdmin = user?.role === "admin";
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Chat widgets</span>
        <nav aria-label="Main" className="nav">
          <NavLink to="/" end>
            Dashboard
          </NavLink>
          {isAdmin && <NavLink to="/clients">Clients</NavLink>}
          {isAdmin && <NavLink to="/widgets">Widgets</NavLink>}
          {isAdmin && <NavLink to="/demos">Demos</NavLink>}
          {isAdmin && <NavLink to="/health">Health</NavLink>}
          {isAdmin && <NavLink to="/users">Users</NavLink>}
          <NavLink to="/analytics">Analytics</NavLink>
          <NavLink to="/account/password">Password</NavLink>
        </nav>
        <div className="who">
          <span className="muted small" title={user?.email}>
            {user?.email}
          </span>
          <button type="button" className="button button--quiet" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="main">
        <Outlet />
      </main>
    </>
  );
}

/** The page's heading and document title; focused on arrival so screen readers announce the page. */
export function PageTitle({ children, actions }: { children: string; actions?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · Chat widgets`;
    ref.current?.focus();
  }, [children]);
  return (
    <div className="page-head">
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}

export function RequireSession({ children }: { children: ReactNode }) {
  const { status, endedUserId } = useSession();
  const location = useLocation();
  if (status === "signed-out") {
    return <Navigate to="/signin" replace state={{ from: location.pathname + location.search, userId: endedUserId }} />;
  }
  return <>{children}</>;
}

export function RequireAdmin({ children }: { children: ReactNode }) {
  const { user } = useSession();
  return user?.role === "admin" ? <>{children}</> : <NotAllowed />;
}

export function NotAllowed() {
  return (
    <section>
      <PageTitle>Not allowed</PageTitle>
      <p>This page is for the platform's administrators. Your account cannot open it.</p>
      <p>
        <NavLink to="/">Back to your dashboard</NavLink>
      </p>
    </section>
  );
}

export function NotFound() {
  return (
    <section>
      <PageTitle>Page not found</PageTitle>
      <p>There is no page at this address.</p>
      <p>
        <NavLink to="/">Back to your dashboard</NavLink>
      </p>
    </section>
  );
}
