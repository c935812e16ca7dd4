import { StrictMode, type ReactElement } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { Layout, NotFound, RequireAdmin, RequireSession } from "./components/Layout";
import { ClientForm } from "./pages/ClientForm";
import { Clients } from "./pages/Clients";
import { Dashboard } from "./pages/Dashboard";
import { Password } from "./pages/Password";
import { SignIn } from "./pages/SignIn";
import { WidgetCreate } from "./pages/WidgetCreate";
import { Widgets } from "./pages/Widgets";
import { SessionProvider } from "./session";
import "./styles.css";

const admin = (page: ReactElement) => <RequireAdmin>{page}</RequireAdmin>;

const router = createBrowserRouter(
  [
    { path: "/signin", element: <SignIn /> },
    {
      element: (
        <RequireSession>
          <Layout />
        </RequireSession>
      ),
      children: [
        { index: true, element: <Dashboard /> },
        { path: "clients", element: admin(<Clients />) },
        { path: "clients/new", element: admin(<ClientForm />) },
        { path: "clients/:clientId", element: admin(<ClientForm />) },
        { path: "widgets", element: admin(<Widgets />) },
        { path: "widgets/new", element: admin(<WidgetCreate />) },
        { path: "account/password", element: <Password /> },
        { path: "*", element: <NotFound /> },
      ],
    },
  ],
  { basename: "/admin" },
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionProvider>
      <RouterProvider router={router} />
    </SessionProvider>
  </StrictMode>,
);
