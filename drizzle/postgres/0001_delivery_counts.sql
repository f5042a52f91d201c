ALTER TABLE "messages" ADD COLUMN "deliveries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "recent_ids" ADD COLUMN "id" text DEFAULT '' NOT NULL;