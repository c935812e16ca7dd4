// Analytics figures in the browser's locale: counts, shares, durations, days and times in the
// range's time zone.
import { formatNumber } from "../../format";

const percentFormat = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });
const msFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const secondsFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const compactFormat = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const shortDayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", timeZone: "UTC" });
const shortWeekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" });

export { formatNumber };

export function formatCompact(value: number): string {
  return compactFormat.format(value);
}

/** A 0..1 share as a percentage; "—" when there is none. */
export function formatShare(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : percentFormat.format(value);
}

/** A duration in ms: "850 ms", "2.4 s"; "—" when there is none. */
export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return value < 1000 ? `${msFormat.format(value)} ms` : `${secondsFormat.format(value / 1000)} s`;
}

function utcDay(iso: string): Date {
  return new Date(`${iso.slice(0, 10)}T00:00:00Z`);
}

/** A calendar day (YYYY-MM-DD) as the browser's locale writes it. */
export function formatDay(iso: string): string {
  return dayFormat.format(utcDay(iso));
}

export function formatShortDay(iso: string): string {
  return shortDayFormat.format(utcDay(iso));
}

/** Weekday names, Monday first (2024-01-01 was a Monday). */
export function weekdays(style: "long" | "short"): string[] {
  const format = style === "long" ? weekdayFormat : shortWeekdayFormat;
  return Array.from({ length: 7 }, (_, i) => format.format(new Date(Date.UTC(2024, 0, 1 + i))));
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** An instant as a date and time in `tz`. */
export function formatDateTimeIn(iso: string, tz: string): string {
  let format = timeFormats.get(tz);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: tz });
    } catch {
      format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
    timeFormats.set(tz, format);
  }
  return format.format(new Date(iso));
}
