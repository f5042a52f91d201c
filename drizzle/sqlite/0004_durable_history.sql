ALTER TABLE `messages` ADD `retained` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_retained` ON `messages` (`queue`,`seq`) WHERE "messages"."retained" = 1;--> statement-breakpoint
ALTER TABLE `queues` ADD `history_floor` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `queues` ADD `retained_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE `queues` SET `history_floor` = max(`last_seq`, coalesce((SELECT max(`seq`) FROM `messages` WHERE `messages`.`queue` = `queues`.`name`), 0));
