CREATE TABLE `artifacts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`trial_id` integer NOT NULL,
	`kind` text NOT NULL,
	`path` text NOT NULL,
	`bytes` integer,
	`step` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "artifacts_kind_check" CHECK("artifacts"."kind" in ('checkpoint', 'log', 'model'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `artifacts_trial_path_unique` ON `artifacts` (`trial_id`,`path`);--> statement-breakpoint
CREATE TABLE `metrics` (
	`trial_id` integer NOT NULL,
	`key` text NOT NULL,
	`step` integer NOT NULL,
	`value` real,
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `metrics_trial_key_step_unique` ON `metrics` (`trial_id`,`key`,`step`);--> statement-breakpoint
CREATE TABLE `provenance` (
	`trial_id` integer PRIMARY KEY NOT NULL,
	`package_version` text,
	`git_commit` text,
	`git_dirty` integer,
	`backend` text,
	`kernel` text,
	`node_version` text,
	`host` text,
	`attempt` integer,
	`recorded_at` integer NOT NULL,
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `summary` (
	`trial_id` integer NOT NULL,
	`key` text NOT NULL,
	`final` real,
	`best` real,
	`best_step` integer,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`trial_id`, `key`),
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `summary_key_idx` ON `summary` (`key`,`final`);--> statement-breakpoint
CREATE TABLE `sweep_trials` (
	`sweep_id` integer NOT NULL,
	`trial_id` integer NOT NULL,
	`position` integer NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	PRIMARY KEY(`sweep_id`, `trial_id`),
	FOREIGN KEY (`sweep_id`) REFERENCES `sweeps`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sweep_trials_trial_idx` ON `sweep_trials` (`trial_id`);--> statement-breakpoint
CREATE INDEX `sweep_trials_position_idx` ON `sweep_trials` (`sweep_id`,`position`);--> statement-breakpoint
CREATE TABLE `sweeps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`spec` text NOT NULL,
	`spec_path` text,
	`fingerprint` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sweeps_name_unique` ON `sweeps` (`name`);--> statement-breakpoint
CREATE TABLE `trials` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`origin_sweep_id` integer,
	`config` text NOT NULL,
	`config_hash` text NOT NULL,
	`mode` text DEFAULT 'qat' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`worker_id` text,
	`worker_pid` integer,
	`worker_host` text,
	`heartbeat_at` integer,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`error` text,
	FOREIGN KEY (`origin_sweep_id`) REFERENCES `sweeps`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "trials_status_check" CHECK("trials"."status" in ('pending', 'running', 'done', 'failed')),
	CONSTRAINT "trials_mode_check" CHECK("trials"."mode" in ('qat', 'ptq'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `trials_config_hash_unique` ON `trials` (`config_hash`);--> statement-breakpoint
CREATE INDEX `trials_status_idx` ON `trials` (`status`);