CREATE TABLE `bindings` (
	`exchange` text NOT NULL,
	`queue` text NOT NULL,
	`key` text NOT NULL,
	`args` text NOT NULL,
	PRIMARY KEY(`exchange`, `queue`, `key`, `args`)
);
--> statement-breakpoint
CREATE INDEX `bindings_queue` ON `bindings` (`queue`);--> statement-breakpoint
CREATE TABLE `exchanges` (
	`name` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`queue` text NOT NULL,
	`seq` integer NOT NULL,
	`id` text NOT NULL,
	`exchange` text NOT NULL,
	`routing_key` text NOT NULL,
	`headers` text NOT NULL,
	`body` text NOT NULL,
	`published_at` integer NOT NULL,
	PRIMARY KEY(`queue`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `queues` (
	`name` text PRIMARY KEY NOT NULL,
	`last_seq` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
