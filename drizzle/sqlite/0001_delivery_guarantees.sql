CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `recent_ids` (
	`message_id` text PRIMARY KEY NOT NULL,
	`until` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `messages` ADD `message_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `deliver_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `redelivered` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `queues` ADD `args` text DEFAULT '{}' NOT NULL;