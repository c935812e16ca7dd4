// The operations pages (health, conversations, transcripts, users), each loaded on first use so the
// SPA's initial JavaScript stays small (tests/unit/test_admin_bundle.py).
import { lazy, Suspense, type ComponentType } from "react";
import { Loading } from "../components/states";

function lazyPage(load: () => Promise<ComponentType>, what: string) {
  const Lazy = lazy(() => load().then((page) => ({ default: page })));
  return function LazyPage() {
    return (
      <Suspense fallback={<Loading what={what} />}>
        <Lazy />
      </Suspense>
    );
  };
}

export const Health = lazyPage(() => import("./Health").then((m) => m.Health), "webhook health");
export const Conversations = lazyPage(() => import("./Conversations").then((m) => m.Conversations), "conversations");
export const Transcript = lazyPage(() => import("./Transcript").then((m) => m.Transcript), "the transcript");
export const Users = lazyPage(() => import("./Users").then((m) => m.Users), "users");
