// One file per table group; drizzle-kit reads this index to generate migrations.
export * from "./activity";
export * from "./agents";
export * from "./anomalies";
export * from "./backups";
export * from "./bug-reports";
export * from "./identity";
export * from "./webhooks";
export * from "./browser-sessions";
export * from "./notifications";
