/**
 * A deadline for a call to a dependency: a slow Redis must make an answer smaller, never later,
 * and a database that does not answer counts as one that is down. `onTimeout` names what was
 * waited for, or builds the error to fail with.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: string | (() => Error) = 'redis',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          typeof onTimeout === 'string'
            ? new Error(`${onTimeout} did not answer within ${ms} ms`)
            : onTimeout(),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
