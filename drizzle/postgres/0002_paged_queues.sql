ALTER TABLE "messages" ADD COLUMN "bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "queues" ADD COLUMN "message_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "queues" ADD COLUMN "message_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "queues" ADD COLUMN "redelivered_through" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_delayed" ON "messages" USING btree ("deliver_at") WHERE "messages"."deliver_at" is not null;--> statement-breakpoint
UPDATE "messages" SET "bytes" = length("body") + length("routing_key") + length("exchange") + length("id") + (CASE WHEN "headers" = '{}' THEN 0 ELSE length("headers") END) + 64;--> statement-breakpoint
UPDATE "queues" SET "message_count" = (SELECT count(*) FROM "messages" WHERE "messages"."queue" = "queues"."name"), "message_bytes" = (SELECT coalesce(sum("bytes"), 0) FROM "messages" WHERE "messages"."queue" = "queues"."name");
