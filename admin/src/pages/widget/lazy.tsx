// The widget page and the demo widgets page, loaded on first use (the preview, settings form and
// their helpers stay out of the SPA's initial JavaScript: tests/unit/test_admin_bundle.py).
import { lazy, Suspense } from "react";
import { Loading } from "../../components/states";

const Detail = lazy(() => import("./Detail").then((m) => ({ default: m.WidgetDetail })));
const DemoList = lazy(() => import("../Demos").then((m) => ({ default: m.Demos })));

export function WidgetDetail() {
  return (
    <Suspense fallback={<Loading what="the widget" />}>
      <Detail />
    </Suspense>
  );
}

export function Demos() {
  return (
    <Suspense fallback={<Loading what="demo widgets" />}>
      <DemoList />
    </Suspense>
  );
}
