CREATE TABLE "bindings" (
	"exchange" text NOT NULL,
	"queue" text NOT NULL,
	"key" text NOT NULL,
	"args" text NOT NULL,
	CONSTRAINT "bindings_exchange_queue_key_args_pk" PRIMARY KEY("exchange","queue","key","args")
);
--> statement-breakpoint
CREATE TABLE "exchanges" (
	"name" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"queue" text NOT NULL,
	"seq" bigint NOT NULL,
	"id" text NOT NULL,
	"exchange" text NOT NULL,
	"routing_key" text NOT NULL,
	"headers" text NOT NULL,
	"body" text NOT NULL,
	"published_at" bigint NOT NULL,
	"message_id" text,
	"expires_at" bigint,
	"deliver_at" bigint,
	"redelivered" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "messages_queue_seq_pk" PRIMARY KEY("queue","seq")
);
--> statement-breakpoint
CREATE TABLE "meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queues" (
	"name" text PRIMARY KEY NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"args" text DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "recent_ids" (
	"message_id" text PRIMARY KEY NOT NULL,
	"until" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "bindings_queue" ON "bindings" USING btree ("queue");