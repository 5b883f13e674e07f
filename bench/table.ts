/** A small fixed-width table printer (also emits the Markdown form for RESULTS.md). */

export function renderTable(headers: string[], rows: string[][], markdown = false): string {
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
    return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export const ms = (v: number | undefined) => (v === undefined ? "" : v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
export const ratio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "" : v >= 100 ? `${Math.round(v)}x` : `${v.toFixed(2)}x`);

const SHORT: Record<string, string> = {
  AttachKeyPair: "Att",
  DetachKeyPair: "Det",
  DescribeInstances: "DI",
  DescribeKeyPairs: "DKP",
  ListTagResources: "LsTag",
  TagResources: "Tag",
  UntagResources: "Untag",
  StopInstances: "Stop",
  StartInstances: "Start",
};

/** {AttachKeyPair: 100, DescribeInstances: 30} -> "Att 100, DI 30" (Attach/Detach first). */
export function callsCell(calls: Record<string, number> | undefined): string {
  if (!calls) return "";
  const order = Object.keys(SHORT);
  return Object.entries(calls)
    .sort(([a], [b]) => (order.indexOf(a) + 100 * +!SHORT[a]) - (order.indexOf(b) + 100 * +!SHORT[b]))
    .map(([a, c]) => `${SHORT[a] ?? a} ${Math.round(c)}`)
    .join(", ");
}
