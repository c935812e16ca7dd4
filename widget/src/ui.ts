// The widget itself: DOM inside a shadow root, and the conversation controller.

import { Api, ApiError } from "./api";
import { render } from "./markdown";
import {
  type Failure, type Message, type Strings, type StoredSession, type WidgetConfig,
  canSend, classifyFailure, format, fromHistory, needsRenewal, readSession, storageKey, strings,
} from "./state";
import { CSS } from "./styles";

export type Mode = "launcher" | "inline";
export type EventName = "message" | "open" | "close";
type Listener = (detail: unknown) => void;

const SVG_NS = "http://www.w3.org/2000/svg";
const ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
const ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
const ICON_SEND = "M3 20.5v-7l9-1.5-9-1.5v-7L22 12z";
const ICON_THUMB =
  "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.3l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";

function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document, tag: K, className: string, attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  node.className = className;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function icon(doc: Document, path: string): SVGSVGElement {
  const svg = doc.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const shape = doc.createElementNS(SVG_NS, "path");
  shape.setAttribute("d", path);
  svg.appendChild(shape);
  return svg;
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // blocked (sandboxed frames, some privacy modes): the session lives in memory
  }
}

export class Widget {
  readonly host: HTMLElement;
  private readonly doc: Document;
  private readonly root: HTMLElement;
  private readonly launcher: HTMLButtonElement | null = null;
  private readonly window: HTMLElement;
  private readonly title: HTMLElement;
  private readonly subtitle: HTMLElement;
  private readonly avatar: HTMLImageElement;
  private readonly list: HTMLElement;
  private readonly typing: HTMLElement;
  private readonly chips: HTMLElement;
  private readonly alert: HTMLElement;
  private readonly alertText: HTMLElement;
  private readonly retry: HTMLButtonElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly live: HTMLElement;
  private readonly listeners = new Map<EventName, Set<Listener>>();
  private config: WidgetConfig | null = null;
  private text: Strings = strings(undefined);
  private session: StoredSession | null = null;
  private memorySession: string | null = null;
  private started = false;
  private busy = false;
  private blockedUntil = 0;
  private retryText: string | null = null;
  private counter = 0;
  private timer: number | undefined;

  constructor(
    private readonly api: Api,
    private readonly widgetId: string,
    private readonly mode: Mode,
    container: Element,
  ) {
    this.doc = container.ownerDocument;
    const doc = this.doc;
    this.host = doc.createElement("chat-widget-root");
    // Inline !important beats any page rule, so the page cannot hide or restyle the host.
    this.host.style.setProperty("all", "initial", "important");
    this.host.style.setProperty("display", "block", "important");
    if (mode === "inline") {
      this.host.style.setProperty("width", "100%", "important");
      this.host.style.setProperty("height", "100%", "important");
    }
    const shadow = this.host.attachShadow({ mode: "open" });
    const style = doc.createElement("style");
    style.textContent = CSS;
    shadow.appendChild(style);

    this.root = el(doc, "div", `cw${mode === "inline" ? " cw--inline" : ""}`);
    shadow.appendChild(this.root);
    if (mode === "launcher") {
      this.launcher = el(doc, "button", "cw-launcher", {
        type: "button", "aria-expanded": "false", "aria-controls": "cw-window",
      });
      this.launcher.appendChild(icon(doc, ICON_CHAT));
      this.launcher.addEventListener("click", () => this.toggle());
      this.root.appendChild(this.launcher);
    }
    this.window = el(doc, "div", "cw-window", { id: "cw-window", role: "dialog", "aria-labelledby": "cw-title" });
    if (mode === "launcher") this.window.hidden = true;

    const header = el(doc, "div", "cw-header");
    this.avatar = el(doc, "img", "cw-avatar", { alt: "" });
    this.avatar.hidden = true;
    const heading = el(doc, "div", "cw-heading");
    this.title = el(doc, "h2", "cw-title", { id: "cw-title" });
    this.subtitle = el(doc, "p", "cw-subtitle");
    heading.append(this.title, this.subtitle);
    header.append(this.avatar, heading);
    if (mode === "launcher") {
      const close = el(doc, "button", "cw-close", { type: "button" });
      close.appendChild(icon(doc, ICON_CLOSE));
      close.addEventListener("click", () => this.close());
      header.appendChild(close);
    }

    this.list = el(doc, "div", "cw-messages", { role: "log" });
    this.typing = el(doc, "div", "cw-typing", { role: "status" });
    this.typing.append(el(doc, "span", ""), el(doc, "span", ""), el(doc, "span", ""));
    this.typing.hidden = true;
    this.chips = el(doc, "div", "cw-chips");
    this.alert = el(doc, "div", "cw-alert", { role: "alert" });
    this.alertText = el(doc, "span", "");
    this.retry = el(doc, "button", "cw-retry", { type: "button" });
    this.retry.addEventListener("click", () => this.retryLast());
    this.alert.append(this.alertText, this.retry);
    this.alert.hidden = true;

    const form = el(doc, "form", "cw-form");
    this.input = el(doc, "textarea", "cw-input", { rows: "1", maxlength: "4000" });
    this.sendButton = el(doc, "button", "cw-send", { type: "submit" });
    this.sendButton.appendChild(icon(doc, ICON_SEND));
    form.append(this.input, this.sendButton);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send(this.input.value);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.send(this.input.value);
      }
    });
    this.input.addEventListener("input", () => this.resizeInput());
    this.live = el(doc, "div", "cw-sr", { "aria-live": "polite", "aria-atomic": "true" });

    this.window.append(header, this.list, this.chips, this.alert, form, this.live);
    this.root.appendChild(this.window);
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.mode === "launcher" && !this.window.hidden) {
        event.stopPropagation();
        this.close();
      }
    });
    this.applyStrings();
    this.updateSendState();
    container.appendChild(this.host);
  }

  /** Draws the widget from its public config (cached copy first, then the fresh one). */
  applyConfig(config: WidgetConfig): void {
    this.config = config;
    this.text = strings(config.strings);
    const theme = config.theme;
    const vars: Record<string, string> = {
      "--cw-primary": theme.primary_color, "--cw-on-primary": theme.on_primary_color,
      "--cw-text": theme.text_color, "--cw-bg": theme.background_color, "--cw-bot": theme.bot_bubble_color,
      "--cw-font": theme.font_family, "--cw-radius": `${theme.corner_radius}px`,
    };
    for (const [name, value] of Object.entries(vars)) this.root.style.setProperty(name, value);
    this.root.dataset.position = config.position;
    this.root.setAttribute("dir", config.direction);
    this.root.setAttribute("lang", config.locale);
    this.title.textContent = config.title;
    this.subtitle.textContent = config.subtitle;
    this.subtitle.hidden = !config.subtitle;
    if (config.avatar_url) {
      this.avatar.src = config.avatar_url;
      this.avatar.hidden = false;
    }
    if (this.launcher && config.launcher_icon) {
      const img = el(this.doc, "img", "", { alt: "" });
      img.src = config.launcher_icon;
      this.launcher.replaceChildren(img);
    }
    this.input.placeholder = config.placeholder;
    this.chips.replaceChildren(
      ...config.starter_prompts.map((prompt) => {
        const chip = el(this.doc, "button", "cw-chip", { type: "button" });
        chip.textContent = prompt;
        chip.addEventListener("click", () => void this.send(prompt));
        return chip;
      }),
    );
    this.applyStrings();
    if (this.mode === "inline") void this.start();
  }

  on(name: EventName, listener: Listener): () => void {
    const set = this.listeners.get(name) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(name, set);
    return () => set.delete(listener);
  }

  open(): void {
    if (this.mode === "inline" || !this.window.hidden) return;
    this.window.hidden = false;
    this.launcher?.setAttribute("aria-expanded", "true");
    this.emit("open", {});
    void this.start();
    this.input.focus();
  }

  close(): void {
    if (this.mode === "inline" || this.window.hidden) return;
    this.window.hidden = true;
    this.launcher?.setAttribute("aria-expanded", "false");
    this.launcher?.focus();
    this.emit("close", {});
  }

  toggle(): void {
    if (this.window.hidden) this.open();
    else this.close();
  }

  /** Sends a message as if the visitor typed it. */
  async send(raw: string): Promise<void> {
    const text = raw.trim();
    if (!canSend(text, this.busy, this.blockedUntil)) return;
    if (this.mode === "launcher") this.open();
    await this.start();
    this.hideAlert();
    this.chips.hidden = true;
    this.input.value = "";
    this.resizeInput();
    const node = this.addMessage({ key: this.key(), role: "user", text });
    this.emit("message", { role: "user", text });
    this.setBusy(true);
    try {
      const answer = await this.withSession((token) => this.api.send(token, text));
      this.addMessage({ key: answer.message_id, role: "bot", text: answer.reply, messageId: answer.message_id });
      this.announce(answer.reply);
      this.emit("message", { role: "bot", text: answer.reply, messageId: answer.message_id });
    } catch (error) {
      this.handleFailure(error, text, node);
    } finally {
      this.setBusy(false);
    }
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const stored = readSession(this.loadSession());
    if (stored) {
      try {
        const items = await this.withSession((token) => this.api.history(token));
        if (items.length) {
          for (const message of fromHistory(items, this.text.unavailableReply)) this.addMessage(message);
          this.chips.hidden = true;
          return;
        }
      } catch {
        // No history (offline, or the session is gone): start afresh below.
      }
    }
    this.showGreeting();
  }

  private showGreeting(): void {
    if (!this.config || this.list.childElementCount) return;
    if (this.config.welcome_message) {
      const welcome = el(this.doc, "p", "cw-welcome");
      welcome.textContent = this.config.welcome_message;
      this.list.appendChild(welcome);
    }
    if (this.config.first_message) this.addMessage({ key: "first", role: "bot", text: this.config.first_message });
  }

  private async withSession<T>(call: (token: string) => Promise<T>): Promise<T> {
    let session = await this.currentSession();
    try {
      return await call(session.token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      session = await this.renewSession(true);
      return call(session.token);
    }
  }

  private async currentSession(): Promise<StoredSession> {
    this.session ??= readSession(this.loadSession());
    if (this.session && !needsRenewal(this.session)) return this.session;
    return this.renewSession(false);
  }

  private async renewSession(rejected: boolean): Promise<StoredSession> {
    const previous = this.session ?? readSession(this.loadSession());
    let session: StoredSession;
    try {
      session = await this.api.session(rejected ? null : previous);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || !previous) throw error;
      session = await this.api.session(null); // too old to renew: a new conversation
    }
    this.session = session;
    this.saveSession(JSON.stringify(session));
    return session;
  }

  private handleFailure(error: unknown, text: string, node: HTMLElement): void {
    const failure: Failure = error instanceof ApiError
      ? classifyFailure(error.status, error.body, error.retryAfter)
      : { kind: "other" };
    if (failure.kind === "fallback") {
      this.addMessage({ key: this.key(), role: "fallback", text: failure.message });
      this.announce(failure.message);
      return;
    }
    if (failure.kind === "too_long") {
      node.remove();
      this.input.value = text;
      this.showAlert(this.text.tooLong, false);
      return;
    }
    node.classList.add("cw-msg--failed");
    this.retryText = text;
    if (failure.kind === "rate_limited") {
      this.blockedUntil = Date.now() + failure.seconds * 1000;
      this.countdown(failure.seconds);
      return;
    }
    this.showAlert(failure.kind === "network" ? this.text.networkError : this.text.genericError, true);
  }

  private countdown(seconds: number): void {
    window.clearInterval(this.timer);
    let left = seconds;
    const tick = (): void => {
      if (left <= 0) {
        window.clearInterval(this.timer);
        this.blockedUntil = 0;
        this.showAlert(format(this.text.rateLimited, { seconds: 0 }), true);
        this.updateSendState();
        return;
      }
      this.showAlert(format(this.text.rateLimited, { seconds: left }), false);
      left -= 1;
    };
    tick();
    this.timer = window.setInterval(tick, 1000);
    this.updateSendState();
  }

  private retryLast(): void {
    const text = this.retryText;
    if (!text) return;
    this.retryText = null;
    this.list.querySelector(".cw-msg--failed")?.remove();
    void this.send(text);
  }

  private addMessage(message: Message): HTMLElement {
    const doc = this.doc;
    const item = el(doc, "div", `cw-msg cw-msg--${message.role}`);
    const bubble = el(doc, "div", "cw-bubble");
    if (message.role === "user") bubble.textContent = message.text;
    else bubble.appendChild(render(message.text, doc));
    item.appendChild(bubble);
    if (message.role === "bot" && message.messageId) item.appendChild(this.feedbackButtons(message));
    this.list.insertBefore(item, this.typing.parentNode === this.list ? this.typing : null);
    this.list.scrollTop = this.list.scrollHeight;
    return item;
  }

  private feedbackButtons(message: Message): HTMLElement {
    const box = el(this.doc, "div", "cw-feedback");
    const buttons = (["up", "down"] as const).map((value) => {
      const button = el(this.doc, "button", "", {
        type: "button", "aria-pressed": String(message.feedback === value),
        "aria-label": value === "up" ? this.text.helpful : this.text.notHelpful,
      });
      button.appendChild(icon(this.doc, ICON_THUMB));
      return button;
    });
    buttons.forEach((button, index) => {
      const value = index === 0 ? "up" : "down";
      button.addEventListener("click", async () => {
        const previous = buttons.map((b) => b.getAttribute("aria-pressed"));
        buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === index)));
        try {
          await this.withSession((token) => this.api.feedback(token, message.messageId as string, value));
        } catch {
          buttons.forEach((b, i) => b.setAttribute("aria-pressed", previous[i] ?? "false"));
        }
      });
      box.appendChild(button);
    });
    return box;
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.typing.hidden = !busy;
    if (busy) this.list.appendChild(this.typing);
    this.list.scrollTop = this.list.scrollHeight;
    this.updateSendState();
  }

  private updateSendState(): void {
    this.sendButton.disabled = !canSend(this.input.value, this.busy, this.blockedUntil);
  }

  private resizeInput(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(120, Math.max(42, this.input.scrollHeight + 2))}px`;
    this.updateSendState();
  }

  private showAlert(message: string, canRetry: boolean): void {
    this.alertText.textContent = message;
    this.retry.hidden = !canRetry || !this.retryText;
    this.alert.hidden = false;
  }

  private hideAlert(): void {
    this.alert.hidden = true;
  }

  private announce(text: string): void {
    this.live.textContent = "";
    window.setTimeout(() => {
      this.live.textContent = format(this.text.newMessage, { text });
    }, 50);
  }

  private applyStrings(): void {
    const t = this.text;
    this.launcher?.setAttribute("aria-label", t.openChat);
    this.window.setAttribute("aria-label", t.chatWindow);
    this.window.querySelector(".cw-close")?.setAttribute("aria-label", t.closeChat);
    this.list.setAttribute("aria-label", t.chatWindow);
    this.typing.setAttribute("aria-label", t.typing);
    this.input.setAttribute("aria-label", t.messageLabel);
    this.sendButton.setAttribute("aria-label", t.send);
    this.retry.textContent = t.retry;
  }

  private emit(name: EventName, detail: unknown): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        listener(detail);
      } catch (error) {
        console.error("ChatWidget listener failed", error);
      }
    }
  }

  private key(): string {
    this.counter += 1;
    return `local-${this.counter}`;
  }

  private loadSession(): string | null {
    return storage()?.getItem(storageKey(this.widgetId)) ?? this.memorySession;
  }

  private saveSession(value: string): void {
    this.memorySession = value;
    try {
      storage()?.setItem(storageKey(this.widgetId), value);
    } catch {
      // Quota or privacy mode: the session stays in memory for this page.
    }
  }
}
