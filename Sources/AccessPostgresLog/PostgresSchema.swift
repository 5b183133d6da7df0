import Foundation

/// The tables of the shared log, in the schema `accessd`, as `accessd log
/// init` creates them (idempotent: running it again changes nothing that is
/// there). The daemon only reads the schema's version (`meta`) and refuses
/// a version it does not know.
///
/// - `log`: one row per record, `lsn` from 1 without a gap. A row names its
///   predecessor's hash (`prev_hash`) and its own (`hash` = SHA-256 of
///   `prev_hash || record`); the trigger refuses a row whose hash is not
///   that, or whose predecessor is missing or has another hash, and any
///   UPDATE. `batch_id` is unique: a writer whose answer was lost asks by it.
///   Every insert notifies the channel `accessd_log` with its lsn.
/// - `snapshots` and `snapshot_chunks`: the state at an lsn, in chunks of
///   at most 1 MiB, for a new host or one behind what the log keeps.
/// - `append(...)`: one round trip per record: after a conflict the writer
///   asks for the transaction-scoped advisory lock first (never a session
///   lock, which a host cut off would keep holding), and the function
///   answers false without inserting when the lsn is taken.
///
/// Roles: the daemon's (SELECT and INSERT), the maintenance role that trims
/// (SELECT and DELETE); neither may UPDATE.
package enum PostgresSchema {
    /// The version of these tables; `meta.schema_version`. A change bumps it,
    /// and `init` upgrades every earlier one.
    package static let version = 1
    /// The channel every insert notifies.
    package static let channel = "accessd_log"
    /// The advisory lock writers take after a conflict (an arbitrary key of the project's: "accessd" in ASCII).
    package static let appendLockKey: Int64 = 0x61_63_63_65_73_73_64

    /// The statements of `accessd log init`, in order.
    package static func initStatements(writerRole: String?, trimRole: String?) -> [String] {
        var statements = [
            "CREATE SCHEMA IF NOT EXISTS accessd",
            """
            CREATE TABLE IF NOT EXISTS accessd.meta (
                key text PRIMARY KEY,
                value text NOT NULL)
            """,
            "INSERT INTO accessd.meta (key, value) VALUES ('schema_version', '\(version)') ON CONFLICT (key) DO NOTHING",
            """
            CREATE TABLE IF NOT EXISTS accessd.log (
                lsn bigint PRIMARY KEY CHECK (lsn > 0),
                format_version integer NOT NULL CHECK (format_version > 0),
                first_seq bigint,
                last_seq bigint,
                writer text NOT NULL,
                batch_id bytea NOT NULL UNIQUE CHECK (length(batch_id) = 16),
                committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
                hash bytea NOT NULL CHECK (length(hash) = 32),
                record bytea NOT NULL)
            """,
            """
            CREATE OR REPLACE FUNCTION accessd.log_refuse_broken_chain() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                predecessor bytea;
            BEGIN
                IF NEW.hash <> sha256(NEW.prev_hash || NEW.record) THEN
                    RAISE EXCEPTION 'accessd: record % has a hash other than sha256(prev_hash || record)', NEW.lsn
                        USING ERRCODE = 'check_violation';
                END IF;
                IF NEW.lsn = 1 THEN
                    IF NEW.prev_hash <> decode(repeat('00', 32), 'hex') THEN
                        RAISE EXCEPTION 'accessd: record 1 names a previous hash; the first record has none'
                            USING ERRCODE = 'foreign_key_violation';
                    END IF;
                    RETURN NEW;
                END IF;
                SELECT hash INTO predecessor FROM accessd.log WHERE lsn = NEW.lsn - 1;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'accessd: record % has no predecessor (record % is not in the log)', NEW.lsn, NEW.lsn - 1
                        USING ERRCODE = 'foreign_key_violation';
                END IF;
                IF predecessor <> NEW.prev_hash THEN
                    RAISE EXCEPTION 'accessd: record % does not follow record % (its prev_hash is not that record''s hash)', NEW.lsn, NEW.lsn - 1
                        USING ERRCODE = 'foreign_key_violation';
                END IF;
                RETURN NEW;
            END $$
            """,
            """
            CREATE OR REPLACE FUNCTION accessd.log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'accessd: log rows are never changed (record %)', OLD.lsn USING ERRCODE = 'insufficient_privilege';
            END $$
            """,
            """
            CREATE OR REPLACE FUNCTION accessd.log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('\(channel)', NEW.lsn::text);
                RETURN NULL;
            END $$
            """,
            "DROP TRIGGER IF EXISTS log_chain ON accessd.log",
            "CREATE TRIGGER log_chain BEFORE INSERT ON accessd.log FOR EACH ROW EXECUTE FUNCTION accessd.log_refuse_broken_chain()",
            "DROP TRIGGER IF EXISTS log_no_update ON accessd.log",
            "CREATE TRIGGER log_no_update BEFORE UPDATE ON accessd.log FOR EACH ROW EXECUTE FUNCTION accessd.log_refuse_update()",
            "DROP TRIGGER IF EXISTS log_notify ON accessd.log",
            "CREATE TRIGGER log_notify AFTER INSERT ON accessd.log FOR EACH ROW EXECUTE FUNCTION accessd.log_notify()",
            """
            CREATE OR REPLACE FUNCTION accessd.append(
                p_lsn bigint, p_format integer, p_first_seq bigint, p_last_seq bigint, p_writer text, p_batch bytea,
                p_prev bytea, p_hash bytea, p_record bytea, p_lock boolean) RETURNS boolean LANGUAGE plpgsql AS $$
            BEGIN
                IF p_lock THEN
                    PERFORM pg_advisory_xact_lock(\(appendLockKey));
                END IF;
                IF EXISTS (SELECT 1 FROM accessd.log WHERE lsn >= p_lsn) THEN
                    RETURN false;
                END IF;
                INSERT INTO accessd.log (lsn, format_version, first_seq, last_seq, writer, batch_id, prev_hash, hash, record)
                    VALUES (p_lsn, p_format, p_first_seq, p_last_seq, p_writer, p_batch, p_prev, p_hash, p_record)
                    ON CONFLICT (lsn) DO NOTHING;
                RETURN FOUND;
            END $$
            """,
            """
            CREATE TABLE IF NOT EXISTS accessd.snapshots (
                lsn bigint PRIMARY KEY CHECK (lsn >= 0),
                bytes bigint NOT NULL,
                chunks integer NOT NULL CHECK (chunks > 0),
                sha256 bytea NOT NULL CHECK (length(sha256) = 32),
                writer text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp())
            """,
            """
            CREATE TABLE IF NOT EXISTS accessd.snapshot_chunks (
                lsn bigint NOT NULL REFERENCES accessd.snapshots (lsn) ON DELETE CASCADE,
                chunk integer NOT NULL CHECK (chunk >= 0),
                bytes bytea NOT NULL,
                PRIMARY KEY (lsn, chunk))
            """,
        ]
        let tables = "accessd.log, accessd.snapshots, accessd.snapshot_chunks"
        if let writerRole {
            let role = quoteIdentifier(writerRole)
            statements += [
                "GRANT USAGE ON SCHEMA accessd TO \(role)",
                "GRANT SELECT ON accessd.meta TO \(role)",
                "GRANT SELECT, INSERT ON \(tables) TO \(role)",
                "REVOKE UPDATE, DELETE, TRUNCATE ON \(tables) FROM \(role)",
            ]
        }
        if let trimRole {
            let role = quoteIdentifier(trimRole)
            statements += [
                "GRANT USAGE ON SCHEMA accessd TO \(role)",
                "GRANT SELECT ON accessd.meta TO \(role)",
                "GRANT SELECT, DELETE ON \(tables) TO \(role)",
            ]
        }
        return statements
    }

    /// A role's name as an SQL identifier: double-quoted, quotes doubled.
    package static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
