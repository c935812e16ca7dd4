// The weekday x hour grid of messages as a table (readable as it is) shaded by count; the shades
// keep their text at WCAG AA contrast and a legend says what they mean.
import { formatNumber, weekdays } from "./format";

const SHADES = 5;
const HOURS = Array.from({ length: 24 }, (_, hour) => hour);

/** 0 for no messages, else 1..SHADES-1 by share of the busiest hour. */
function shade(value: number, max: number): number {
  if (value <= 0 || max <= 0) return 0;
  return Math.min(SHADES - 1, 1 + Math.floor((value / max) * (SHADES - 1) - 1e-9));
}

export function Heatmap({ grid, tz }: { grid: number[][]; tz: string }) {
  const names = weekdays("long");
  const short = weekdays("short");
  const max = Math.max(0, ...grid.flat());
  let busiest = { day: 0, hour: 0, value: -1 };
  grid.forEach((row, day) =>
    row.forEach((value, hour) => {
      if (value > busiest.value) busiest = { day, hour, value };
    }),
  );
  return (
    <section className="card" aria-labelledby="heatmap-title">
      <h2 id="heatmap-title">When people chat</h2>
      <p className="muted small">
        Messages by weekday and hour, local time in {tz}.{" "}
        {max > 0
          ? `Busiest: ${names[busiest.day]} ${busiest.hour}:00–${busiest.hour + 1}:00 with ${formatNumber(busiest.value)} messages.`
          : "No messages in this range."}
      </p>
      <div className="table-wrap heatmap-wrap" tabIndex={0} role="region" aria-label="Messages by weekday and hour">
        <table className="heatmap">
          <thead>
            <tr>
              <td />
              {HOURS.map((hour) => (
                <th scope="col" key={hour} aria-label={`${hour}:00`}>
                  {hour}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {grid.map((row, day) => (
              <tr key={day}>
                <th scope="row" aria-label={names[day]}>
                  {short[day]}
                </th>
                {row.map((value, hour) => (
                  <td key={hour} className={`heat heat--${shade(value, max)}`}>
                    {value > 0 ? formatNumber(value) : ""}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="heat-legend small" aria-hidden="true">
        <span>Fewer</span>
        {Array.from({ length: SHADES }, (_, i) => (
          <span key={i} className={`heat heat--${i} heat-swatch`} />
        ))}
        <span>More</span>
      </p>
    </section>
  );
}
