/** Types of prefs.js for the tests (the browser code itself has no build step). */
export declare function zoneAsNamed(tz: string): string;
