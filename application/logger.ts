/**
 * The one logger type of the app: services, adapters and the HTTP pipeline all write through it, so a
 * test or another host can capture every line by passing one object.
 */

/** Structured fields logged with a message (ids, counts, codes; never secrets or tokens). */
export type LogProperties = Readonly<Record<string, unknown>>;

export interface Logger {
  info(message: string, properties?: LogProperties): void;
  warn(message: string, properties?: LogProperties): void;
  error(message: string, properties?: LogProperties): void;
}

/** Drops everything: the default of services whose caller passes no logger (unit tests). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function write(sink: (...args: unknown[]) => void): (message: string, properties?: LogProperties) => void {
  return (message, properties) => (properties === undefined ? sink(message) : sink(message, JSON.stringify(properties)));
}

/**
 * The process console, which the Functions host collects into its logs (and Application Insights)
 * outside an invocation; properties are written as one JSON text after the message.
 */
export const consoleLogger: Logger = {
  info: write((...args) => console.info(...args)),
  warn: write((...args) => console.warn(...args)),
  error: write((...args) => console.error(...args)),
};
