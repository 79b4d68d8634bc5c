CREATE TABLE "watermarks" (
	"payload" text PRIMARY KEY NOT NULL,
	"upload_id" text NOT NULL,
	"account_id" text NOT NULL,
	"algorithm" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watermarks_upload_id_unique" UNIQUE("upload_id")
);
--> statement-breakpoint
ALTER TABLE "watermarks" ADD CONSTRAINT "watermarks_upload_id_uploads_id_fk" FOREIGN KEY ("upload_id") REFERENCES "public"."uploads"("id") ON DELETE cascade ON UPDATE no action;