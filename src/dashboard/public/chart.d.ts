/** Types of chart.js's axis ranges for the tests (the browser code itself has no build step). */
interface PlotLike {
  /** Dates, the three counts, then revenue, as uPlot holds them. */
  data: readonly (readonly (number | null)[])[];
  series: readonly { show?: boolean }[];
}
export declare function moneyRange(u: PlotLike): [number, number];
export declare function countRange(u: PlotLike, max: number | null): [number, number];
