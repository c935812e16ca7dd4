// The analytics pages, loaded on first use with their chart library (uPlot), so that the SPA's
// initial JavaScript stays small (tests/unit/test_admin_bundle.py).
import { lazy, Suspense, type ComponentType } from "react";
import { Loading } from "../../components/states";

type Pages = typeof import("./pages");
const load = () => import("./pages");

// Opened straight on an analytics page: fetch its code now, while the session is being checked.
if (/^\/admin\/analytics(\/|$)/.test(window.location.pathname)) void load();

function lazyPage<P extends object>(pick: (pages: Pages) => ComponentType<P>) {
  const Lazy = lazy(() => load().then((pages) => ({ default: pick(pages) as ComponentType<object> })));
  return function LazyPage(props: P) {
    return (
      <Suspense fallback={<Loading what="analytics" />}>
        <Lazy {...props} />
      </Suspense>
    );
  };
}

export const AnalyticsList = lazyPage((pages) => pages.AnalyticsList);
export const WidgetAnalyticsPage = lazyPage((pages) => pages.WidgetAnalyticsPage);
export const ClientAnalyticsPage = lazyPage((pages) => pages.ClientAnalyticsPage);
export const ClientDashboard = lazyPage((pages) => pages.ClientDashboard);
