ALTER TABLE `trials` ADD `progress_step` integer;--> statement-breakpoint
ALTER TABLE `trials` ADD `progress_total` integer;--> statement-breakpoint
ALTER TABLE `trials` ADD `progress_rate` real;