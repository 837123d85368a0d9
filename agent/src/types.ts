/** Shapes shared across the agent. Protocol frames themselves come from src/protocol/agent-protocol.ts. */
export const BACKUP_MODES = ["Full", "Differential", "TransactionLog"] as const;
export type BackupMode = (typeof BACKUP_MODES)[number];
