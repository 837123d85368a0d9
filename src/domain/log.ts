/** Log severities, defined once: agent `log` frames, platform log entries and GET /api/log share them. */
export const LOG_SEVERITIES = ["Information", "Warning", "Error", "Critical"] as const;
export type LogSeverity = (typeof LOG_SEVERITIES)[number];
