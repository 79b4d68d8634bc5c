-- The review audit log is append-only: rows can be inserted, never changed or deleted (not even by Earmark).
CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'review_audit is append-only: % is not allowed', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER review_audit_no_update_delete BEFORE UPDATE OR DELETE ON review_audit
  FOR EACH ROW EXECUTE FUNCTION review_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit
  FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only();
