/** What an error says, whatever was thrown (PGlite and Emscripten throw plain objects too). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message, name, code, errno } = error as Record<string, unknown>;
    if (typeof message === 'string' && message !== '') return message;
    const scalar = (v: unknown): v is string | number => typeof v === 'string' || typeof v === 'number';
    const parts = [name, code, scalar(errno) ? `errno ${errno}` : undefined].filter(scalar);
    if (parts.length > 0) return parts.join(' ');
    try {
      return JSON.stringify(error);
    } catch {
      return 'an unknown error';
    }
  }
  return String(error);
}
