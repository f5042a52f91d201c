ALTER TABLE `messages` ADD `bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_delayed` ON `messages` (`deliver_at`) WHERE "messages"."deliver_at" is not null;--> statement-breakpoint
ALTER TABLE `queues` ADD `message_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `queues` ADD `message_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `queues` ADD `redelivered_through` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE `messages` SET `bytes` = length(`body`) + length(`routing_key`) + length(`exchange`) + length(`id`) + (CASE WHEN `headers` = '{}' THEN 0 ELSE length(`headers`) END) + 64;--> statement-breakpoint
UPDATE `queues` SET `message_count` = (SELECT count(*) FROM `messages` WHERE `messages`.`queue` = `queues`.`name`), `message_bytes` = (SELECT coalesce(sum(`bytes`), 0) FROM `messages` WHERE `messages`.`queue` = `queues`.`name`);
