ALTER TABLE `messages` ADD `deliveries` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `recent_ids` ADD `id` text DEFAULT '' NOT NULL;