import { StrictMode, type ReactElement } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { Layout, NotFound, RequireAdmin, RequireSession } from "./components/Layout";
import { ClientForm } from "./pages/ClientForm";
import { Clients } from "./pages/Clients";
import { Dashboard } from "./pages/Dashboard";
import { AnalyticsList, ClientAnalyticsPage, WidgetAnalyticsPage } from "./pages/analytics/lazy";
import { Conversations, Health, Transcript, Users } from "./pages/ops-lazy";
import { Password } from "./pages/Password";
import { SignIn } from "./pages/SignIn";
import { Demos, WidgetDetail } from "./pages/widget/lazy";
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
        { path: "widgets/:widgetId", element: admin(<WidgetDetail />) },
        { path: "demos", element: admin(<Demos />) },
        { path: "account/password", element: <Password /> },
        { path: "health", element: admin(<Health />) },
        { path: "widgets/:widgetId/conversations", element: admin(<Conversations />) },
        { path: "widgets/:widgetId/conversations/:sessionId", element: admin(<Transcript />) },
        { path: "users", element: admin(<Users />) },
        { path: "analytics", element: <AnalyticsList /> },
        { path: "analytics/widgets/:widgetId", element: <WidgetAnalyticsPage /> },
        { path: "analytics/clients/:clientId", element: <ClientAnalyticsPage /> },
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
