ALTER TABLE "messages" ADD COLUMN "retained" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "queues" ADD COLUMN "history_floor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "queues" ADD COLUMN "retained_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_retained" ON "messages" USING btree ("queue","seq") WHERE "messages"."retained" = 1;--> statement-breakpoint
UPDATE "queues" SET "history_floor" = greatest("last_seq", coalesce((SELECT max("seq") FROM "messages" WHERE "messages"."queue" = "queues"."name"), 0));
