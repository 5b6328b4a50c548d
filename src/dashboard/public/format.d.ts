/** Types of format.js for the tests (the browser code itself has no build step). */
export declare const MISSING: string;
export declare function formatMoney(value: unknown, currency?: string): string;
export declare function formatPercent(value: unknown): string;
export declare function formatGrowth(value: unknown): {
  text: string;
  direction: 'up' | 'down' | 'flat' | 'none';
};
