// The range of an analytics page, kept in its address: presets (7, 30, 90 days), a custom from/to
// (checked here as the API would: from before to, at most 366 days) and the time zone.
import { useId, useMemo, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import {
  daysBetween,
  isIsoDate,
  MAX_DAYS,
  PRESET_DAYS,
  rangeFromParams,
  rangeParams,
  timeZones,
  type RangeChoice,
} from "../../api/analytics";
import { formatNumber } from "./format";

/** The page's range as its address says, and a way to change it. */
export function useRange(): [RangeChoice, (next: { preset: number | null; from?: string; to?: string; tz: string }) => void] {
  const [params, setParams] = useSearchParams();
  const choice = useMemo(() => rangeFromParams(params), [params]);
  return [choice, (next) => setParams(rangeParams(next))];
}

export function RangePicker({ choice, onChange }: { choice: RangeChoice; onChange: ReturnType<typeof useRange>[1] }) {
  const id = useId();
  const [from, setFrom] = useState(choice.from);
  const [to, setTo] = useState(choice.to);
  const [error, setError] = useState<string | null>(null);
  const zones = useMemo(() => timeZones(choice.tz), [choice.tz]);
  // The custom fields follow the range when a preset or the address changes it.
  const [shown, setShown] = useState(`${choice.from}/${choice.to}`);
  if (shown !== `${choice.from}/${choice.to}`) {
    setShown(`${choice.from}/${choice.to}`);
    setFrom(choice.from);
    setTo(choice.to);
  }

  function apply(event: FormEvent) {
    event.preventDefault();
    if (!isIsoDate(from) || !isIsoDate(to)) return setError("Enter both dates.");
    if (from > to) return setError("The start date must not be after the end date.");
    if (daysBetween(from, to) > MAX_DAYS) return setError(`A range can be at most ${formatNumber(MAX_DAYS)} days.`);
    setError(null);
    onChange({ preset: null, from, to, tz: choice.tz });
  }

  const errorId = `${id}-error`;
  return (
    <div className="range-picker card">
      <div className="range-presets" role="group" aria-label="Date range">
        {PRESET_DAYS.map((days) => (
          <button
            key={days}
            type="button"
            className={`button button--small${choice.preset === days ? " button--selected" : ""}`}
            aria-pressed={choice.preset === days}
            onClick={() => {
              setError(null);
              onChange({ preset: days, tz: choice.tz });
            }}
          >
            Last {days} days
          </button>
        ))}
      </div>
      <form className="range-custom" onSubmit={apply} noValidate aria-label="Custom range">
        <div className="field">
          <label htmlFor={`${id}-from`}>From</label>
          <input
            id={`${id}-from`}
            type="date"
            value={from}
            max={to || undefined}
            onChange={(event) => setFrom(event.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-to`}>To</label>
          <input
            id={`${id}-to`}
            type="date"
            value={to}
            min={from || undefined}
            onChange={(event) => setTo(event.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
          />
        </div>
        <button type="submit" className="button button--small">
          Apply dates
        </button>
      </form>
      <div className="field range-tz">
        <label htmlFor={`${id}-tz`}>Time zone</label>
        <select id={`${id}-tz`} value={choice.tz} onChange={(event) => onChange({ ...choice, tz: event.target.value })}>
          {zones.map((zone) => (
            <option key={zone} value={zone}>
              {zone.replaceAll("_", " ")}
            </option>
          ))}
        </select>
      </div>
      <p className="field-error range-error" id={errorId} role="alert">
        {error}
      </p>
    </div>
  );
}
