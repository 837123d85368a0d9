import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { BackupRun } from "../api/types";

/** The runs' time span, or a day either side of a single run (uPlot would pick years). */
function xRange(times: number[]): [number, number] {
  const first = Math.min(...times);
  const last = Math.max(...times);
  return first === last ? [first - 86_400, last + 86_400] : [first, last];
}

/** Size and duration of the finished runs on this page, oldest first (uPlot: ~50 KB, canvas, fast). */
export default function RunChart({ runs }: { runs: BackupRun[] }) {
  const container = useRef<HTMLDivElement>(null);
  const finished = useMemo(() => runs.filter((r) => r.status === "Success" && r.startedUtc).reverse(), [runs]);

  useEffect(() => {
    const element = container.current;
    if (!element || finished.length === 0) return;
    // The resolved text colour of the current theme (the canvas cannot read CSS variables itself).
    const text = getComputedStyle(element).color;
    const data: uPlot.AlignedData = [
      finished.map((r) => Date.parse(r.startedUtc!) / 1000),
      finished.map((r) => (r.totalSize ?? 0) / 1024 / 1024),
      finished.map((r) => (r.durationMs ?? 0) / 1000),
    ];
    const axis = { stroke: text, grid: { stroke: "rgba(128,128,128,0.2)" }, ticks: { stroke: "rgba(128,128,128,0.4)" } };
    const plot = new uPlot(
      {
        width: Math.min(element.clientWidth || 600, 900),
        height: 220,
        // One run alone would get a range of years around it: show a day either side instead.
        scales: { x: { time: true, range: () => xRange(data[0] as number[]) } },
        series: [{}, { label: "Size (MB)", stroke: "#2f7dd1", scale: "mb", points: { show: true } }, { label: "Duration (s)", stroke: "#d1842f", scale: "s", points: { show: true } }],
        axes: [axis, { ...axis, scale: "mb", label: "MB" }, { ...axis, scale: "s", side: 1, label: "s", grid: { show: false } }],
      },
      data,
      element,
    );
    const resize = () => plot.setSize({ width: Math.min(element.clientWidth, 900), height: 220 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [finished]);

  if (finished.length === 0) return null;
  return (
    <figure className="chart">
      <figcaption>Size and duration of successful runs on this page</figcaption>
      <div ref={container} role="img" aria-label={`Chart of ${finished.length} successful runs: size and duration over time`} />
    </figure>
  );
}
