// A per-day line chart (uPlot, loaded with the analytics pages only) with its text alternative: a
// caption saying what it shows, a summary, and the same figures as a table.
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatDay, formatShortDay } from "./format";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** At least 3:1 against white (WCAG non-text contrast); lines also differ by dash. */
  color: string;
  dash?: number[];
}

interface DailyChartProps {
  title: string;
  /** What the chart says, in a sentence (read by screen readers with the title). */
  summary: string;
  days: string[];
  series: ChartSeries[];
  /** How the y axis and the table write a value. */
  format(value: number): string;
  /** Tick labels (compact) if they differ from `format`. */
  tick?(value: number): string;
  /** Counts: whole-number ticks only. */
  integer?: boolean;
  /** A fixed top of the y axis (percentages: 100). */
  max?: number;
  height?: number;
}

const AXIS = { stroke: "#4b5563", font: "12px system-ui, sans-serif", grid: { stroke: "#e5e7eb", width: 1 }, ticks: { stroke: "#d1d5db", width: 1 } };

const INTEGER_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];

export function DailyChart({ title, summary, days, series, format, tick, integer, max, height = 220 }: DailyChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  // The table is built when opened (a 90-day range is hundreds of cells per chart).
  const [tableOpen, setTableOpen] = useState(false);

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const data: uPlot.AlignedData = [days.map((_, i) => i), ...series.map((s) => s.values)];
    const width = () => Math.max(240, element.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height,
        scales: { x: { time: false }, y: { range: (_u, _min, top) => [0, max ?? (top > 0 ? top * 1.1 : 1)] } },
        series: [
          { label: "Day", value: (_u, i) => (i === null || days[i] === undefined ? "—" : formatDay(days[i])) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash,
            spanGaps: true,
            points: { show: days.length <= 31, size: 5, fill: s.color },
            value: (_u: uPlot, v: number | null) => (v === null ? "—" : format(v)),
          })),
        ],
        axes: [
          {
            ...AXIS,
            incrs: [1, 2, 7, 14, 28, 56, 91],
            values: (_u, splits) => splits.map((i) => (Number.isInteger(i) && days[i] ? formatShortDay(days[i]) : "")),
          },
          {
            ...AXIS,
            size: 72,
            incrs: integer ? INTEGER_INCREMENTS : undefined,
            values: (_u, splits) => splits.map((v) => (tick ?? format)(v)),
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      element,
    );
    const observer = new ResizeObserver(() => {
      if (plot.width !== width()) plot.setSize({ width: width(), height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [days, series, format, tick, integer, max, height]);

  return (
    <figure className="chart card">
      <figcaption>
        <h3>{title}</h3>
        <p className="muted small">{summary}</p>
      </figcaption>
      {/* The canvas is for the eyes; the table below has the same figures for everyone. */}
      <div ref={holder} className="chart-canvas" aria-hidden="true" />
      <details className="chart-table" onToggle={(event) => setTableOpen(event.currentTarget.open)}>
        <summary>Table: {title.toLowerCase()}</summary>
        {tableOpen && (
          <div className="table-wrap" tabIndex={0} role="region" aria-label={`${title} by day`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  {series.map((s) => (
                    <th scope="col" className="num" key={s.label}>
                      {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {days.map((day, i) => (
                  <tr key={day}>
                    <th scope="row">{formatDay(day)}</th>
                    {series.map((s) => {
                      const value = s.values[i];
                      return (
                        <td className="num" key={s.label}>
                          {value === null || value === undefined ? "—" : format(value)}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </figure>
  );
}
