CREATE TABLE "policy_revisions" (
	"revision" text PRIMARY KEY NOT NULL,
	"git_commit" text,
	"rules" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_rule_hits" (
	"revision" text NOT NULL,
	"rule_id" text NOT NULL,
	"mode" text NOT NULL,
	"hits" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "policy_rule_hits_revision_rule_id_pk" PRIMARY KEY("revision","rule_id")
);
--> statement-breakpoint
CREATE TABLE "review_tasks" (
	"upload_id" text PRIMARY KEY NOT NULL,
	"priority" integer NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "is_operator" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "review_tasks" ADD CONSTRAINT "review_tasks_upload_id_uploads_id_fk" FOREIGN KEY ("upload_id") REFERENCES "public"."uploads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "uploads_account_created_idx" ON "uploads" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "uploads_account_sha_idx" ON "uploads" USING btree ("account_id","sha256");