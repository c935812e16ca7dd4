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

interface SessionState {
  /** "checking": a stored token is being confirmed with GET /v1/auth/me. */
  status: "checking" | "signed-in" | "signed-out";
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
  const [stored, setStored] = useState<Stored | null>(() => read());
  const [status, setStatus] = useState<SessionState["status"]>(() => (read() ? "checking" : "signed-out"));
  const [notice, setNotice] = useState<string | null>(null);
  const [endedUserId, setEndedUserId] = useState<string | null>(null);
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

  // A stored token is confirmed once: expired, revoked or garbage ones end here with a message.
  useEffect(() => {
    if (status !== "checking" || !stored) return;
    if (expired(stored)) {
      end(EXPIRED_MESSAGE);
      return;
    }
    const controller = new AbortController();
    api<User>("/v1/auth/me", { signal: controller.signal })
      .then((user) => {
        const next = { ...stored, user };
        sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
        setStored(next);
        setStatus("signed-in");
      })
      .catch((error: unknown) => {
        if (error instanceof DOMException && error.name === "AbortError") return;
        // A 401 has already ended the session; anything else (server down) keeps the token for a retry.
        setStatus((current) => (current === "checking" ? "signed-in" : current));
      });
    return () => controller.abort();
  }, [status, stored, end]);

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
