import { randomUUID } from "node:crypto";
import { hostname, release, type } from "node:os";
import { type AgentCommand, FULL_ONLY_CAPABILITIES, OVER_BUDGET_ERROR, type RestoreRunCommand, type ServerFrame, type VerifyRunCommand } from "../../src/protocol/agent-protocol.ts";
import type { AgentConfig } from "./config.ts";
import { Connection, type BackoffOptions } from "./connection.ts";
import { WRITABLE_DESTINATION_TYPES } from "./destinations/index.ts";
import type { EngineSet } from "./discovery.ts";
import { collectInventory, type InventoryEngine } from "./engines/index.ts";
import type { Engine } from "./engines/engine.ts";
import { effectiveCompression } from "./pipeline/compression.ts";
import type { EncryptOptions } from "./pipeline/encryption.ts";
import type { LogSeverity } from "../../src/domain/log.ts";
import { type RestoreContext, runRestore, runVerification } from "./platform-restore.ts";
import { OutboxSender } from "./outbox-sender.ts";
import { JobRunner } from "./runner.ts";
import { Scheduler } from "./scheduler.ts";
import { deleteState, type AgentStore, type Identity } from "./state.ts";
import { AGENT_VERSION } from "./version.ts";

/** Why `run` ended: the CLI turns it into an exit code and a message. */
export type AgentExit = { reason: "stopped" } | { reason: "revoked"; message: string } | { reason: "token-refused"; message: string };

export interface AgentOptions {
  identity: Identity;
  stateDir: string;
  config: AgentConfig;
  store: AgentStore;
  engines: Engine[];
  /** Finds the engines again before each inventory (discovery plus agent.json); without it `engines` is fixed. */
  discover?: () => Promise<EngineSet>;
  /** Told what happens, for `datasync-agent status` (the live status file). */
  observer?: AgentObserver;
  now?: () => Date;
  /** Where local diagnostics go (default: stderr with a timestamp). */
  print?: (line: string) => void;
  backoff?: Partial<BackoffOptions>;
  encryptOptions?: EncryptOptions;
  progressIntervalMs?: number;
  /** Overrides agent.json's inventoryIntervalSeconds (tests). */
  inventoryIntervalMs?: number;
}

/** What a running agent tells `datasync-agent status` about itself. */
export interface AgentObserver {
  connected(server: string): void;
  disconnected(why: string): void;
  inventory(engines: InventoryEngine[]): void;
  /** Every backup report the agent queues (started, completed, failed). */
  report(frame: { type: string } & Record<string, unknown>): void;
}

/** Refusals of one outbox message (each after a resend) before it is dropped. */
const MAX_REFUSALS = 5;


/**
 * The running agent: connects, applies commands idempotently by id and in order, schedules jobs,
 * reports through the on-disk outbox (everything but ping and acks of commands), sends inventory.
 */
export class Agent {
  private readonly options: AgentOptions;
  private readonly store: AgentStore;
  private readonly now: () => Date;
  private readonly print: (line: string) => void;
  private readonly connection: Connection;
  /** Sends the on-disk outbox within the platform's budget (outbox-sender.ts). */
  private readonly outbox: OutboxSender;
  private readonly scheduler: Scheduler;
  readonly runner: JobRunner;
  private engines: Engine[];
  private commandChain: Promise<void> = Promise.resolve();
  private restores: Promise<void> = Promise.resolve();
  private inventoryTimer: NodeJS.Timeout | undefined;
  private lastInventory: string | undefined;
  private revoked = false;
  private finish!: (exit: AgentExit) => void;
  /** Settles when the agent stops for good. */
  readonly exited: Promise<AgentExit>;

  constructor(options: AgentOptions) {
    this.options = options;
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.print = options.print ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    this.exited = new Promise((resolve) => (this.finish = resolve));
    this.engines = options.engines;
    const agent = this;
    this.runner = new JobRunner({
      store: this.store,
      // Read at each run: discovery may have found engines since the runner was made.
      get engines() {
        return agent.engines;
      },
      compression: effectiveCompression(options.config.compression),
      now: this.now,
      send: (frame) => {
        options.observer?.report(frame);
        this.sendReliably(frame);
      },
      report: (severity, message, backupJobId) => this.report(severity, message, backupJobId),
      encryptOptions: options.encryptOptions,
      progressIntervalMs: options.progressIntervalMs,
      stagingDirectory: options.config.tempDirectory,
    });
    this.scheduler = new Scheduler((backupJobId, mode) => this.runner.trigger({ backupJobId, mode, trigger: "Schedule" }));
    this.outbox = new OutboxSender({ pending: () => this.store.pendingMessages(), send: (frame) => this.connection.send(frame) });
    this.connection = new Connection({
      server: options.identity.server,
      token: options.identity.agentToken,
      backoff: options.backoff,
      handlers: {
        onReady: () => {
          options.observer?.connected(options.identity.server);
          this.onReady();
        },
        onClosed: (why) => options.observer?.disconnected(why),
        onFrame: (frame) => this.onFrame(frame),
        onRevoked: () => void this.revoke(),
        onTokenRefused: () => this.end({ reason: "token-refused", message: "The platform refuses this agent's token (was the agent deleted?). Enroll again with a new registration token." }),
        note: (message) => this.print(message),
      },
    });
  }

  start(): void {
    this.store.pruneAppliedCommands(this.now());
    this.runner.reportInterruptedRuns();
    for (const job of this.store.jobs()) this.scheduler.upsert(job);
    this.connection.start();
    this.inventoryTimer = setInterval(() => void this.sendInventory(false), this.options.inventoryIntervalMs ?? this.options.config.inventoryIntervalSeconds * 1000);
  }

  /** Stops scheduling and the socket; a run in progress is waited for so its report reaches the outbox. */
  async stop(): Promise<void> {
    this.scheduler.stop();
    clearInterval(this.inventoryTimer);
    await this.runner.idle();
    this.connection.stop();
    this.end({ reason: "stopped" });
  }

  private end(exit: AgentExit): void {
    this.scheduler.stop();
    clearInterval(this.inventoryTimer);
    this.outbox.stop();
    this.connection.stop();
    this.finish(exit);
  }

  private report(severity: LogSeverity, message: string, backupJobId?: string): void {
    this.print(`${severity}: ${message}`);
    this.sendReliably({ type: "log", id: randomUUID(), severity, message, timestamp: this.now().toISOString(), backupJobId: backupJobId ?? null });
  }

  /**
   * Outbox first, then the socket: a message is gone from disk only when the platform acks its id.
   * Callers may be inside a store transaction, so the socket send waits for a microtask (after the
   * synchronous transaction ended) and happens only if the message was committed: the platform never
   * hears of something a crash could still roll back.
   */
  private sendReliably(frame: { id: string; type: string } & Record<string, unknown>): void {
    // Revoked: the state (and its store) is gone; work still finishing (an inventory, a run) has nowhere to report.
    if (this.revoked) return;
    this.store.enqueue(frame);
    queueMicrotask(() => {
      if (!this.revoked && this.store.isPending(frame.id)) this.outbox.drain();
    });
  }

  private onReady(): void {
    // hello opens each connection and is not kept in the outbox: an old one resent later would say nothing new.
    this.connection.send({
      type: "hello",
      id: randomUUID(),
      hostname: hostname(),
      // Omitted when unknown: the platform would otherwise clear the name given at enrollment.
      displayName: this.options.config.displayName ?? this.options.identity.displayName,
      operatingSystem: `${type()} ${release()}`,
      version: AGENT_VERSION,
      destinationTypes: WRITABLE_DESTINATION_TYPES,
    });
    this.outbox.connected();
    void this.sendInventory(true);
  }

  /** Discovery plus agent.json; should discovery itself fail, the engines known so far stay. */
  private async discover(): Promise<EngineSet> {
    if (!this.options.discover) return { engines: this.engines, unreachable: [] };
    try {
      return await this.options.discover();
    } catch (error) {
      this.print(`Warning: discovering engines failed: ${(error as Error).message}`);
      return { engines: this.engines, unreachable: [] };
    }
  }

  /** Engines found again (with discovery), listed, and sent when something changed or when asked. */
  private async sendInventory(force: boolean): Promise<void> {
    const found = await this.discover();
    this.engines = found.engines;
    const unreachable: InventoryEngine[] = found.unreachable.map(({ engineKey, dbmsType, error }) => ({ engineKey, dbmsType, version: "", databases: [], capabilities: FULL_ONLY_CAPABILITIES, error }));
    const engines = [...(await collectInventory(this.engines, () => {})), ...unreachable];
    this.options.observer?.inventory(engines);
    const snapshot = JSON.stringify(engines);
    if (!force && snapshot === this.lastInventory) return;
    this.lastInventory = snapshot;
    // Reported, not dropped: the platform's log says why an engine lists no databases.
    for (const engine of engines) if (engine.error) this.report("Warning", `Engine ${engine.engineKey} (${engine.dbmsType}) is not reachable: ${engine.error}`);
    this.sendReliably({ type: "inventory", id: randomUUID(), engines });
  }

  private onFrame(frame: Exclude<ServerFrame, { type: "welcome" } | { type: "pong" }>): void {
    switch (frame.type) {
      case "ack":
        this.store.acknowledge(frame.id);
        this.outbox.acknowledged(frame.id);
        return;
      case "error": {
        this.print(`Warning: the platform refused frame ${frame.id ?? "(unknown)"}: ${frame.error}`);
        // Over budget says "later", not "never": the message stays in the outbox and goes again after a pause.
        if (frame.error.startsWith(OVER_BUDGET_ERROR)) {
          if (frame.id) this.outbox.refusedOverBudget(frame.id);
          return;
        }
        const dropped = frame.id ? this.store.recordRefusal(frame.id, MAX_REFUSALS) : undefined;
        if (dropped) this.print(`Warning: gave up on ${JSON.parse(dropped).type} ${frame.id} after ${MAX_REFUSALS} refusals.`);
        return;
      }
      case "command":
        // One at a time, in the order received (the platform sends them in seq order).
        this.commandChain = this.commandChain.then(() => this.applyCommand(frame.id, frame.command)).catch((error) => this.print(`Error: command ${frame.id} failed: ${(error as Error).message}`));
        return;
    }
  }

  private async applyCommand(commandId: string, command: AgentCommand): Promise<void> {
    if (this.store.isApplied(commandId)) {
      this.connection.send({ type: "ack", id: commandId });
      return;
    }
    const markApplied = () => this.store.markApplied(commandId, this.now());
    switch (command.type) {
      case "job.upsert":
        this.store.transaction(() => {
          this.store.saveJob(command.job);
          markApplied();
        });
        this.scheduler.upsert(command.job);
        this.print(`Job "${command.job.name}" ${command.job.isEnabled ? `scheduled (${command.job.schedules.map((s) => `${s.backupMode} ${s.cronExpression}`).join(", ") || "manual only"})` : "disabled"}.`);
        break;
      case "job.delete":
        await this.runner.releaseChains(command.backupJobId);
        this.store.transaction(() => {
          this.store.deleteJob(command.backupJobId);
          markApplied();
        });
        this.scheduler.remove(command.backupJobId);
        this.print(`Job ${command.backupJobId} removed.`);
        break;
      case "credential.upsert":
        this.store.transaction(() => {
          this.store.saveCredential(command.credentialReferenceId, command.credential);
          markApplied();
        });
        this.print(`Credential "${command.name}" stored.`);
        break;
      case "credential.delete":
        this.store.transaction(() => {
          this.store.deleteCredential(command.credentialReferenceId);
          markApplied();
        });
        break;
      case "backup.run":
        // Marked applied first: the run's own started/completed reports say what happened to it.
        markApplied();
        this.runner.trigger({ backupJobId: command.backupJobId, mode: command.backupMode, trigger: "Manual", backupRunId: command.backupRunId });
        break;
      case "restore.run":
      case "verify.run":
        // Marked applied first (a crash mid-restore is not retried blindly); its reports say what happened.
        markApplied();
        this.queueRestore(command);
        break;
      case "inventory.request":
        await this.sendInventory(true);
        markApplied();
        break;
      case "agent.revoked":
        await this.revoke();
        return;
    }
    this.connection.send({ type: "ack", id: commandId });
  }

  /**
   * One restore or drill at a time, in arrival order, on its own chain: the command chain (and so
   * scheduled and triggered backups, which the runner runs) never waits for a restore.
   */
  private queueRestore(command: RestoreRunCommand | VerifyRunCommand): void {
    const context: RestoreContext = {
      engines: this.engines,
      credentials: this.store,
      send: (frame) => {
        this.options.observer?.report(frame);
        this.sendReliably(frame);
      },
      now: this.now,
      stagingDirectory: this.options.config.tempDirectory,
      progressIntervalMs: this.options.progressIntervalMs,
    };
    const run = () => (command.type === "restore.run" ? runRestore(context, command) : runVerification(context, command));
    this.restores = this.restores.then(run).catch((error) => this.print(`Error: ${command.type} failed: ${(error as Error).message}`));
  }

  /** Resolves once every queued restore and drill has finished. */
  restoresIdle(): Promise<void> {
    return this.restores;
  }

  private async revoke(): Promise<void> {
    if (this.revoked) return;
    this.revoked = true;
    this.scheduler.stop();
    this.outbox.stop();
    this.store.close();
    await deleteState(this.options.stateDir);
    this.end({ reason: "revoked", message: "This agent was deleted on the platform; its local state was removed. Enroll again to back up this machine." });
  }
}
