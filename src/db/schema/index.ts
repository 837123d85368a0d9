// One file per table group; drizzle-kit reads this index to generate migrations.
export * from "./identity";
