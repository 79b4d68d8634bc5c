CREATE TABLE "review_audit" (
	"id" text PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"reviewer_id" text,
	"action" text NOT NULL,
	"upload_id" text,
	"reason" text,
	"note" text,
	"from_state" text,
	"to_state" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "reviewer_login_failures" (
	"key" text PRIMARY KEY NOT NULL,
	"failures" integer NOT NULL,
	"first_failed_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "reviewer_sessions" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"reviewer_id" text NOT NULL,
	"csrf_secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reviewers" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"role" text NOT NULL,
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone,
	CONSTRAINT "reviewers_email_unique" UNIQUE("email")
);
--> statement-breakpoint
ALTER TABLE "review_tasks" ADD COLUMN "claimed_by" text;--> statement-breakpoint
ALTER TABLE "review_tasks" ADD COLUMN "claim_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "review_tasks" ADD COLUMN "escalated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reviewer_sessions" ADD CONSTRAINT "reviewer_sessions_reviewer_id_reviewers_id_fk" FOREIGN KEY ("reviewer_id") REFERENCES "public"."reviewers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "review_audit_at_idx" ON "review_audit" USING btree ("at");--> statement-breakpoint
CREATE INDEX "review_audit_upload_idx" ON "review_audit" USING btree ("upload_id");--> statement-breakpoint
CREATE INDEX "reviewer_sessions_reviewer_idx" ON "reviewer_sessions" USING btree ("reviewer_id");