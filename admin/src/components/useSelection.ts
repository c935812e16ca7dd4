// Rows ticked for a bulk action on a page of a table: which are chosen, whether all of the page is,
// and the toggles; cleared by the page when it moves or after the action.
import { useState } from "react";

export interface Selection<T> {
  chosen: T[];
  allOnPage: boolean;
  has(item: T): boolean;
  toggle(item: T, on: boolean): void;
  setAll(on: boolean): void;
  clear(): void;
}

export function useSelection<T>(items: T[], keyOf: (item: T) => string): Selection<T> {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const chosen = items.filter((item) => selected.has(keyOf(item)));
  return {
    chosen,
    allOnPage: items.length > 0 && chosen.length === items.length,
    has: (item) => selected.has(keyOf(item)),
    toggle: (item, on) =>
      setSelected((current) => {
        const next = new Set(current);
        if (on) next.add(keyOf(item));
        else next.delete(keyOf(item));
        return next;
      }),
    setAll: (on) => setSelected(on ? new Set(items.map(keyOf)) : new Set()),
    clear: () => setSelected(new Set()),
  };
}
