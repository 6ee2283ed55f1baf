// A virtualized table (TanStack Table + Virtual): only the rows on screen are in the DOM.
import {
  ColumnDef,
  SortingState,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ReactNode, useEffect, useMemo, useRef, useState } from "react";

export type Sort = { id: string; desc: boolean } | null;

type Props = {
  columns: ColumnDef<any, any>[];
  data: any[];
  /** Server-side sorting: the current sort and a handler; without it the table sorts itself. */
  sort?: Sort;
  onSort?: (sort: Sort) => void;
  visible?: string[]; // column ids in display order; all when missing
  onEndReached?: () => void;
  onRowClick?: (row: any) => void;
  selected?: (row: any) => boolean;
  rowHeight?: number;
  testId?: string;
  empty?: string;
};

export function DataTable(props: Props) {
  const { columns, data, rowHeight = 34 } = props;
  const [localSort, setLocalSort] = useState<SortingState>([]);
  const sorting: SortingState = props.onSort ? (props.sort ? [props.sort] : []) : localSort;
  const ids = columns.map((c) => c.id as string);
  const order = props.visible ?? ids;
  const visibility = Object.fromEntries(ids.map((id) => [id, order.includes(id)]));
  // Rows keyed by their id when every row has its own: a reload that reorders the rows (a row
  // written moves to the top) then moves each row's element with it, so a click aimed at a row
  // never lands on another row's content put in its place (keyed by position, it could).
  const byId = useMemo(() => {
    const seen = new Set<string>();
    for (const r of data) {
      const id = (r as { id?: unknown } | null)?.id;
      if (typeof id !== "string" || seen.has(id)) return false;
      seen.add(id);
    }
    return true;
  }, [data]);
  const table = useReactTable({
    data,
    columns,
    getRowId: byId ? (r) => (r as { id: string }).id : undefined,
    state: { sorting, columnVisibility: visibility, columnOrder: order },
    manualSorting: !!props.onSort,
    enableMultiSort: false,
    onSortingChange: (updater) => {
      const next = typeof updater === "function" ? updater(sorting) : updater;
      if (props.onSort) props.onSort(next[0] ? { id: next[0].id, desc: next[0].desc } : null);
      else setLocalSort(next);
    },
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: props.onSort ? undefined : getSortedRowModel(),
  });
  const rows = table.getRowModel().rows;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length ? items[items.length - 1].index : -1;
  const { onEndReached } = props;
  useEffect(() => {
    if (onEndReached && rows.length > 0 && last >= rows.length - 10) onEndReached();
  }, [last, rows.length, onEndReached]);
  const width = table.getVisibleLeafColumns().reduce((w, c) => w + c.getSize(), 0);
  return (
    <div className="table-scroll" ref={scroller} data-testid={props.testId}>
      <div style={{ width, minWidth: "100%" }}>
        <div className="thead">
          {table.getHeaderGroups().map((group) => (
            <div className="tr" key={group.id}>
              {group.headers.map((h) => {
                const sorted = h.column.getIsSorted();
                const sortable = h.column.getCanSort();
                return (
                  <div
                    key={h.id}
                    className={"th" + (sortable ? " sortable" : "") + (stickyEnd(h.column) ? " sticky-end" : "")}
                    style={{ width: h.getSize() }}
                    data-col={h.column.id}
                    onClick={sortable ? h.column.getToggleSortingHandler() : undefined}
                    // Keyboard: a sortable header is a button (Tab to it, Enter or Space sorts).
                    tabIndex={sortable ? 0 : undefined}
                    role={sortable ? "button" : undefined}
                    aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
                    onKeyDown={
                      sortable
                        ? (e) => {
                            if (e.key !== "Enter" && e.key !== " ") return;
                            e.preventDefault();
                            h.column.getToggleSortingHandler()?.(e);
                          }
                        : undefined
                    }
                    title={sortable ? "Sort" : undefined}
                  >
                    {flexRender(h.column.columnDef.header, h.getContext())}
                    {sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}
                  </div>
                );
              })}
            </div>
          ))}
        </div>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {items.map((item) => {
            const row = rows[item.index];
            return (
              <div
                key={row.id}
                className={
                  "tr row" +
                  (props.onRowClick ? " clickable" : "") +
                  (props.selected?.(row.original) ? " selected" : "")
                }
                data-testid="row"
                style={{ position: "absolute", top: 0, transform: `translateY(${item.start}px)`, height: rowHeight }}
                onClick={() => props.onRowClick?.(row.original)}
                // Keyboard: a clickable row takes the focus and Enter opens it, as a click does
                // (not when the key is for a checkbox or button inside the row).
                tabIndex={props.onRowClick ? 0 : undefined}
                onKeyDown={
                  props.onRowClick
                    ? (e) => {
                        if (e.key !== "Enter" || e.target !== e.currentTarget) return;
                        e.preventDefault();
                        props.onRowClick?.(row.original);
                      }
                    : undefined
                }
              >
                {row.getVisibleCells().map((cell) => (
                  <div key={cell.id} className={"td" + (stickyEnd(cell.column) ? " sticky-end" : "")} style={{ width: cell.column.getSize() }}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
        {rows.length === 0 && <div className="empty">{props.empty ?? "No rows"}</div>}
      </div>
    </div>
  );
}

/** A column with `meta: { stickyEnd: true }` (a row's action buttons) stays at the table's
 * right edge when the columns are wider than the screen, so its buttons are always in view. */
function stickyEnd(column: { columnDef: { meta?: unknown } }): boolean {
  return !!(column.columnDef.meta as { stickyEnd?: boolean } | undefined)?.stickyEnd;
}

/** A short one-line rendering of any JSON value for a table cell. */
export function preview(value: unknown, max = 200): string {
  if (value === null || value === undefined) return "";
  const s = (typeof value === "string" ? value : JSON.stringify(value)).replace(/\s+/g, " ");
  return s.length > max ? s.slice(0, max) + "…" : s;
}

export function fmtNumber(v: unknown, digits = 2): string {
  if (v === null || v === undefined || v === "") return "";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toFixed(digits);
}

export function fmtTime(v: unknown): string {
  if (!v) return "";
  const d = new Date(String(v));
  return isNaN(d.getTime()) ? String(v) : d.toISOString().replace("T", " ").slice(0, 19);
}

/** A column chooser: show, hide and reorder columns. */
export function ColumnChooser(props: {
  all: { id: string; label: string }[];
  visible: string[];
  onChange: (visible: string[]) => void;
  fields?: string[]; // field paths offered as custom columns (ids "f:<path>")
  extra?: ReactNode; // more in the popover (the datasets screen's expression columns)
}) {
  const [open, setOpen] = useState(false);
  const [field, setField] = useState("");
  const { all, visible, onChange } = props;
  // Escape closes it, as it closes a dialog, and gives the focus back to its button.
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      e.preventDefault(); // (taken: a trace panel behind stays open)
      setOpen(false);
      button.current?.focus();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);
  const ordered = [...visible.map((id) => all.find((c) => c.id === id)!).filter(Boolean), ...all.filter((c) => !visible.includes(c.id))];
  const move = (id: string, by: number) => {
    const i = visible.indexOf(id);
    const j = i + by;
    if (i < 0 || j < 0 || j >= visible.length) return;
    const next = [...visible];
    [next[i], next[j]] = [next[j], next[i]];
    onChange(next);
  };
  return (
    <div className="popover-wrap">
      <button ref={button} onClick={() => setOpen(!open)} data-testid="columns-button">
        Columns
      </button>
      {open && (
        <div className="popover" data-testid="column-chooser">
          {ordered.map((c) => {
            const on = visible.includes(c.id);
            return (
              <div key={c.id} className="chooser-row">
                <label>
                  <input
                    type="checkbox"
                    checked={on}
                    onChange={() => onChange(on ? visible.filter((v) => v !== c.id) : [...visible, c.id])}
                  />{" "}
                  {c.label}
                </label>
                {on && (
                  <span>
                    <button className="icon" onClick={() => move(c.id, -1)} title="Move up">↑</button>
                    <button className="icon" onClick={() => move(c.id, 1)} title="Move down">↓</button>
                  </span>
                )}
              </div>
            );
          })}
          {props.fields && (
            <form
              className="chooser-add"
              onSubmit={(e) => {
                e.preventDefault();
                const id = "f:" + field.trim();
                if (field.trim() && !visible.includes(id)) onChange([...visible, id]);
                setField("");
              }}
            >
              <input list="chooser-fields" placeholder="add a field column: metadata.model" value={field} onChange={(e) => setField(e.target.value)} data-testid="add-field-column" />
              <datalist id="chooser-fields">
                {props.fields.map((f) => (
                  <option key={f} value={f} />
                ))}
              </datalist>
            </form>
          )}
          {props.extra}
        </div>
      )}
    </div>
  );
}
