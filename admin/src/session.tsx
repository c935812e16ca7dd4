// The signed-in session: the access token, its expiry and its user, kept in sessionStorage (this tab,
// until the token expires or the user signs out). Any 401 from the API ends it with a message.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, configureApi, type LoginResponse, type User } from "./api/client";

const STORAGE_KEY = "cwp.session";

export const EXPIRED_MESSAGE = "Your session has ended. Please sign in again.";
export const SIGNED_OUT_MESSAGE = "You are signed out.";

interface Stored {
  token: string;
  expiresAt: string;
  user: User;
}

function read(): Stored | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const value = raw ? (JSON.parse(raw) as Partial<Stored>) : null;
    if (value && typeof value.token === "string" && typeof value.expiresAt === "string" && value.user) {
      return value as Stored;
    }
  } catch {
    // Unreadable storage is no session.
  }
  return null;
}

function expired(stored: Stored): boolean {
  const at = Date.parse(stored.expiresAt);
  return !Number.isFinite(at) || at <= Date.now();
}

function startingSession(): { stored: Stored | null; notice: string | null; endedUserId: string | null } {
  const stored = read();
  if (stored && expired(stored)) {
    sessionStorage.removeItem(STORAGE_KEY);
    return { stored: null, notice: EXPIRED_MESSAGE, endedUserId: stored.user.id };
  }
  return { stored, notice: null, endedUserId: null };
}

interface SessionState {
  status: "signed-in" | "signed-out";
  user: User | null;
  /** Why the user is on the sign-in page (an ended session, a sign-out). */
  notice: string | null;
  /** Whose session ended last in this tab: only that user is sent back to the page they were on. */
  endedUserId: string | null;
  signIn(response: LoginResponse): void;
  signOut(): void;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  // A stored, unexpired token is used at once (pages render while GET /v1/auth/me confirms it in the
  // background; a 401 from it or from any other call ends the session); an expired one ends here.
  const [start] = useState(startingSession);
  const [stored, setStored] = useState<Stored | null>(start.stored);
  const [status, setStatus] = useState<SessionState["status"]>(start.stored ? "signed-in" : "signed-out");
  const [notice, setNotice] = useState<string | null>(start.notice);
  const [endedUserId, setEndedUserId] = useState<string | null>(start.endedUserId);
  const current = useRef(stored);
  current.current = stored;

  const end = useCallback((message: string) => {
    setEndedUserId(current.current?.user.id ?? null);
    sessionStorage.removeItem(STORAGE_KEY);
    configureApi(null, () => {});
    setStored(null);
    setStatus("signed-out");
    setNotice(message);
  }, []);

  const signIn = useCallback((response: LoginResponse) => {
    const next = { token: response.access_token, expiresAt: response.expires_at, user: response.user };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    setStored(next);
    setStatus("signed-in");
    setNotice(null);
  }, []);

  const signOut = useCallback(() => end(SIGNED_OUT_MESSAGE), [end]);

  // Keep the API client's token in step with the session (before children's effects run).
  configureApi(stored?.token ?? null, () => end(EXPIRED_MESSAGE));

  // The stored token is confirmed once, and its user refreshed (a role may have changed). Anything
  // but a 401 (which has already ended the session), e.g. the server being down, keeps the token.
  useEffect(() => {
    const confirming = start.stored;
    if (!confirming) return;
    const controller = new AbortController();
    api<User>("/v1/auth/me", { signal: controller.signal })
      .then((user) =>
        setStored((now) => {
          if (now?.token !== confirming.token) return now;
          const next = { ...now, user };
          sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
          return next;
        }),
      )
      .catch(() => {});
    return () => controller.abort();
  }, [start]);

  // The token ends on its own at expires_at, whether or not the API is called.
  useEffect(() => {
    if (!stored) return;
    const wait = Date.parse(stored.expiresAt) - Date.now();
    if (!Number.isFinite(wait)) return;
    const timer = window.setTimeout(() => end(EXPIRED_MESSAGE), Math.max(0, Math.min(wait, 2 ** 31 - 1)));
    return () => window.clearTimeout(timer);
  }, [stored, end]);

  const value = useMemo<SessionState>(
    () => ({ status, user: stored?.user ?? null, notice, endedUserId, signIn, signOut }),
    [status, stored, notice, endedUserId, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
