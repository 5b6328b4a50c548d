/** How the configuration reads its environment: values, their problems, all kept for one report. */

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(key: string, fallback: string): string {
    return this.optional(key) ?? fallback;
  }

  /** A value, or undefined when unset or empty; one of spaces alone is a mistake, not a default. */
  optional(key: string): string | undefined {
    const value = this.env[key];
    if (value === undefined || value === '') return undefined;
    if (value.trim() === '') {
      this.problems.push(`${key} is blank (unset it to take the default)`);
      return undefined;
    }
    return value;
  }

  /** Whether the key holds a value (a blank one is reported by optional). */
  has(key: string): boolean {
    const value = this.env[key];
    return value !== undefined && value !== '';
  }

  /** A whole number in plain digits: `Number()` alone would take `0x1F`, `1e3` and `8003.0`. */
  int(key: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(key);
    if (raw === undefined) return fallback;
    const text = raw.trim();
    const value = Number(text);
    if (!/^\d{1,16}$/.test(text) || value < min || value > max) {
      this.problems.push(`${key} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  bool(key: string): boolean {
    const raw = this.optional(key);
    if (raw === undefined) return false;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${key} must be true or false (got "${raw}")`);
    return false;
  }

  /** Of these keys, the ones that hold a value. */
  present(keys: readonly string[]): string[] {
    return keys.filter((key) => this.has(key));
  }
}
