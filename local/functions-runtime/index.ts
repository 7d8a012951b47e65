/**
 * Local Azure Functions runtime for development and tests: runs the unmodified `@azure/functions` v4
 * registrations (HTTP, Storage queue, timer) without the Functions host. See README.md in this folder.
 */
export { startFunctionsHost, FunctionIndexingError, type FunctionsHostOptions, type RunningFunctionsHost } from './functions-host.js';
export { captureRegistrations, resolveEntryFiles, EntryPointError } from './entry-points.js';
export { installCoreModule, type FunctionRegistration } from './core-api.js';
export { consoleLogger, type HostLogEntry, type HostLogger } from './invocation.js';
export { parseSchedule, TimerScheduleError, type TimerSchedule } from './timer-schedule.js';
export { memoryScheduleMonitor, fileScheduleMonitor, type ScheduleMonitor, type ScheduleStatus } from './timer-listener.js';
export { loadHostOptions, resolveAppSettings, HostConfigurationError, type HostOptions, type QueuesOptions } from './host-options.js';
