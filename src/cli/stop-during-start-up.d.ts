export interface StopDuringStartUp {
  /** The service handles the stop signals from here on. */
  remove(): void;
}

/** Ends the process with 0 on a stop signal until removed; the same handle for every caller. */
export function stopDuringStartUp(): StopDuringStartUp;
