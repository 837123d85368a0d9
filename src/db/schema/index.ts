// One file per table group; drizzle-kit reads this index to generate migrations.
export * from "./activity";
export * from "./agent";
export * from "./anomaly";
export * from "./backup";
export * from "./bug-report";
export * from "./identity";
export * from "./webhook";
export * from "./browser-session";
export * from "./notification";
export * from "./restore";
