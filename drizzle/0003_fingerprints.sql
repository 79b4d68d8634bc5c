CREATE TABLE "fingerprint_hash_counts" (
	"hash" integer PRIMARY KEY NOT NULL,
	"uploads" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fingerprint_hashes" (
	"hash" integer NOT NULL,
	"fingerprint_id" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fingerprints" (
	"id" serial PRIMARY KEY NOT NULL,
	"upload_id" text NOT NULL,
	"account_id" text NOT NULL,
	"algorithm" text NOT NULL,
	"duration_s" real NOT NULL,
	"hash_count" integer NOT NULL,
	"hashes" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fingerprints_upload_id_unique" UNIQUE("upload_id")
);
--> statement-breakpoint
ALTER TABLE "fingerprint_hashes" ADD CONSTRAINT "fingerprint_hashes_fingerprint_id_fingerprints_id_fk" FOREIGN KEY ("fingerprint_id") REFERENCES "public"."fingerprints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fingerprints" ADD CONSTRAINT "fingerprints_upload_id_uploads_id_fk" FOREIGN KEY ("upload_id") REFERENCES "public"."uploads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fingerprint_hashes_hash_idx" ON "fingerprint_hashes" USING btree ("hash","fingerprint_id");--> statement-breakpoint
CREATE INDEX "fingerprint_hashes_fp_brin" ON "fingerprint_hashes" USING brin ("fingerprint_id");