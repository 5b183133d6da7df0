#!/usr/bin/env python3
"""The peer scripts/test-cluster.sh runs against each accessd of a cluster.

Usage:
  cluster-writer.py GENERATED_DIR write SOCKET HOST SECONDS ACKS [DEADLINE_MS]
      Writes for SECONDS: each write creates an account with its owner
      (AdminService.CreateAccount, an administrator's call) under the
      idempotency key cluster-HOST-N, with a deadline of DEADLINE_MS (default
      2000). A write that fails is sent again with the same key until it is
      acknowledged (the key makes sure it is applied once), a new connection
      when the daemon went away. Every answer is a line of ACKS:
        ok KEY ACCOUNT_ID OWNER_EMAIL REVISION MS START_S
        err KEY CODE MS START_S MESSAGE
        down KEY MS START_S REASON      (no daemon to answer)
      START_S: when the attempt began, in seconds since the writer started.
      Ends with a line on stdout: HOST acknowledged N, errors by code.
  cluster-writer.py GENERATED_DIR verify SOCKET ACKS...
      For every acknowledged write of the ACKS files: a Check that its owner
      may SHARE_ACCESS in its account, with min_revision its revision. Prints
      "present N missing M" and the first missing ones.
  cluster-writer.py GENERATED_DIR stats SOCKET
      GetStats with the state digest, one key=value per line.
  cluster-writer.py GENERATED_DIR check SOCKET USER ACCOUNT [MIN_REVISION [TIMEOUT_MS]]
      One Check: prints "CODE allowed MS message".
  cluster-writer.py GENERATED_DIR one SOCKET KEY
      One write (as `write` does, once): prints "CODE ACCOUNT_ID OWNER_EMAIL REVISION MS".
  cluster-writer.py GENERATED_DIR lag SOCKET_A SOCKET_B COUNT
      Follower lag: COUNT writes on A one after another, each timed from its
      acknowledgement on A to the moment B's FollowEvents stream delivers its
      revision. Prints "RESULT name=follower_lag writes=N p50_ms=.. p99_ms=.. max_ms=..".

The socket is not checked as the clients check it (the test made it).
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, sys.argv[1])
from accessd.v1 import access_pb2, admin_pb2, events_pb2, frames_pb2, types_pb2  # noqa: E402

CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED",
    11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


class Gone(Exception):
    """The daemon is not there, or closed the connection."""


class Connection:
    def __init__(self, path, timeout=15.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as error:
            self.sock.close()
            raise Gone(f"connect: {error.strerror or error}")
        self.next_id = 1

    def close(self):
        self.sock.close()

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except OSError as error:
                raise Gone(f"recv: {error}")
            if not chunk:
                raise Gone("accessd closed the connection")
            data += chunk
        return data

    def call(self, method, request, reply_type, timeout_ms=0, min_revision=0, key=""):
        call_id = self.next_id
        self.next_id += 1
        frame = frames_pb2.ClientFrame()
        frame.request.id = call_id
        frame.request.method = method
        frame.request.payload = request.SerializeToString()
        frame.request.timeout_ms = timeout_ms
        frame.request.min_revision = min_revision
        frame.request.idempotency_key = key
        body = frame.SerializeToString()
        try:
            self.sock.sendall(struct.pack(">I", len(body)) + body)
        except OSError as error:
            raise Gone(f"send: {error}")
        while True:
            (length,) = struct.unpack(">I", self._read_exact(4))
            server_frame = frames_pb2.ServerFrame.FromString(self._read_exact(length))
            if server_frame.WhichOneof("kind") != "response":
                continue  # GoAway: the answers to calls received still come
            response = server_frame.response
            if response.id == 0 and response.code != 0:
                raise Gone(f"{CODE_NAMES.get(response.code, response.code)}: {response.message}")
            if response.id != call_id:
                continue
            if response.code != 0:
                return None, response
            return reply_type.FromString(response.payload), response


def account_request(key):
    email = f"{key}@cluster.example"
    request = admin_pb2.CreateAccountRequest(
        name=f"Cluster {key}", kind=types_pb2.ACCOUNT_KIND_STANDARD, region=types_pb2.REGION_EU,
        full_access_licenses=1, owner_email=email, owner_first_name="Cluster", owner_last_name="Writer")
    return request, email


def write_once(conn, key, deadline_ms):
    request, email = account_request(key)
    began = time.monotonic()
    created, response = conn.call(
        "/accessd.v1.AdminService/CreateAccount", request, admin_pb2.CreateAccountResponse, timeout_ms=deadline_ms,
        key=key)
    ms = int((time.monotonic() - began) * 1000)
    return created, response, email, ms


def write(path, host, seconds, acks_path, deadline_ms):
    started = time.monotonic()
    end = started + seconds
    conn = None
    n = 0
    acknowledged = 0
    errors = {}
    with open(acks_path, "a", buffering=1) as acks:
        while time.monotonic() < end:
            n += 1
            key = f"cluster-{host}-{n}"
            while True:
                attempt = time.monotonic()
                at = f"{attempt - started:.3f}"
                if conn is None:
                    try:
                        conn = Connection(path)
                    except Gone as gone:
                        acks.write(f"down {key} 0 {at} {gone}\n")
                        errors["down"] = errors.get("down", 0) + 1
                        if time.monotonic() >= end:
                            break
                        time.sleep(0.2)
                        continue
                try:
                    created, response, email, ms = write_once(conn, key, deadline_ms)
                except Gone as gone:
                    ms = int((time.monotonic() - attempt) * 1000)
                    acks.write(f"down {key} {ms} {at} {gone}\n")
                    errors["down"] = errors.get("down", 0) + 1
                    conn.close()
                    conn = None
                    if time.monotonic() >= end:
                        break
                    time.sleep(0.2)
                    continue
                if created is not None:
                    acks.write(f"ok {key} {created.account.id} {email} {response.revision} {ms} {at}\n")
                    acknowledged += 1
                    break
                name = CODE_NAMES.get(response.code, str(response.code))
                message = response.message.replace("\n", " ")
                acks.write(f"err {key} {name} {ms} {at} {message}\n")
                errors[name] = errors.get(name, 0) + 1
                if time.monotonic() >= end:
                    break
                time.sleep(0.1)
            time.sleep(0.004)
    summary = " ".join(f"{name}={count}" for name, count in sorted(errors.items())) or "none"
    print(f"{host}: acknowledged {acknowledged} of {n} writes; failed attempts: {summary}")
    return 0


def acknowledged(paths):
    for path in paths:
        with open(path) as acks:
            for line in acks:
                fields = line.split()
                if fields and fields[0] == "ok":
                    yield fields[1], fields[2], fields[3], int(fields[4])


def verify(path, ack_paths):
    conn = Connection(path)
    present = 0
    missing = []
    keys = {}
    acks = list(acknowledged(ack_paths))
    for key, account, email, revision in acks:
        if len(missing) >= 10:
            # A host that stopped short would make each read wait its deadline: ten say enough.
            missing.append(f"and {len(acks) - present - len(missing)} more not checked (gave up after 10 missing)")
            break
        if key in keys and keys[key] != account:
            missing.append(f"{key} acknowledged twice with accounts {keys[key]} and {account}")
            continue
        keys[key] = account
        check = access_pb2.CheckRequest(user=email, account_id=account, permission=types_pb2.PERMISSION_SHARE_ACCESS)
        reply, response = conn.call(
            "/accessd.v1.AccessService/Check", check, access_pb2.CheckResponse, timeout_ms=10000,
            min_revision=revision)
        if reply is not None and reply.allowed:
            present += 1
        else:
            why = response.message if reply is None else f"not allowed: {reply.reason}"
            missing.append(f"{key} (account {account}, revision {revision}): {why}")
    print(f"present {present} missing {len(missing)}")
    for line in missing[:11]:
        print(f"  missing {line}")
    return 0 if not missing else 1


def stats(path):
    conn = Connection(path)
    reply, response = conn.call(
        "/accessd.v1.AdminService/GetStats", admin_pb2.GetStatsRequest(state_digest=True), admin_pb2.GetStatsResponse,
        timeout_ms=10000)
    if reply is None:
        print(f"error={CODE_NAMES.get(response.code, response.code)} {response.message}")
        return 1
    for field in ("revision", "accounts", "users", "log", "log_connected", "log_head_lsn", "log_applied_lsn",
                  "log_lag_records", "log_lag_ms", "log_silence_ms", "log_hash", "writes_stopped", "state_digest"):
        value = getattr(reply, field)
        if isinstance(value, bool):
            value = "true" if value else "false"
        print(f"{field}={value}")
    return 0


def check(path, user, account, min_revision, timeout_ms):
    conn = Connection(path)
    began = time.monotonic()
    request = access_pb2.CheckRequest(user=user, account_id=account, permission=types_pb2.PERMISSION_SHARE_ACCESS)
    reply, response = conn.call(
        "/accessd.v1.AccessService/Check", request, access_pb2.CheckResponse, timeout_ms=timeout_ms,
        min_revision=min_revision)
    ms = int((time.monotonic() - began) * 1000)
    code = CODE_NAMES.get(response.code, str(response.code))
    allowed = "allowed" if reply is not None and reply.allowed else "denied"
    print(f"{code} {allowed} {ms} {response.message}")
    return 0


def one(path, key):
    conn = Connection(path)
    created, response, email, ms = write_once(conn, key, 5000)
    code = CODE_NAMES.get(response.code, str(response.code))
    account = created.account.id if created is not None else "-"
    print(f"{code} {account} {email} {response.revision} {ms} {response.message}")
    return 0


def lag(path_a, path_b, count):
    writer = Connection(path_a)
    follower = Connection(path_b)
    stats, _ = follower.call(
        "/accessd.v1.AdminService/GetStats", admin_pb2.GetStatsRequest(), admin_pb2.GetStatsResponse, timeout_ms=5000)
    seen = stats.revision
    stream_id = follower.next_id
    follower.next_id += 1
    frame = frames_pb2.ClientFrame()
    frame.request.id = stream_id
    frame.request.method = "/accessd.v1.EventService/FollowEvents"
    frame.request.payload = events_pb2.FollowEventsRequest(after_seq=seen).SerializeToString()
    body = frame.SerializeToString()
    follower.sock.sendall(struct.pack(">I", len(body)) + body)
    lags = []
    for n in range(count):
        created, response, _, _ = write_once(writer, f"lag-{os.getpid()}-{n}", 5000)
        acknowledged = time.monotonic()
        if created is None:
            print(f"the write failed: {CODE_NAMES.get(response.code, response.code)} {response.message}", file=sys.stderr)
            return 1
        while seen < response.revision:
            (length,) = struct.unpack(">I", follower._read_exact(4))
            server_frame = frames_pb2.ServerFrame.FromString(follower._read_exact(length))
            if server_frame.WhichOneof("kind") != "response" or server_frame.response.id != stream_id:
                continue
            if not server_frame.response.more:
                print(f"the stream ended: {server_frame.response.message}", file=sys.stderr)
                return 1
            seen = max(seen, server_frame.response.revision)
        lags.append(max(0.0, time.monotonic() - acknowledged) * 1000)
    lags.sort()

    def at(q):
        return lags[min(len(lags) - 1, int(q * len(lags)))]

    print(f"RESULT name=follower_lag writes={len(lags)} p50_ms={at(0.5):.2f} p99_ms={at(0.99):.2f} max_ms={lags[-1]:.2f}")
    return 0


def main():
    command, path = sys.argv[2], sys.argv[3]
    rest = sys.argv[4:]
    try:
        if command == "write":
            return write(path, rest[0], float(rest[1]), rest[2], int(rest[3]) if len(rest) > 3 else 2000)
        if command == "verify":
            return verify(path, rest)
        if command == "stats":
            return stats(path)
        if command == "check":
            return check(path, rest[0], rest[1], int(rest[2]) if len(rest) > 2 else 0,
                         int(rest[3]) if len(rest) > 3 else 5000)
        if command == "one":
            return one(path, rest[0])
        if command == "lag":
            return lag(path, rest[0], int(rest[1]))
    except Gone as gone:
        print(f"GONE {gone}")
        return 2
    print(f"unknown command {command}", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
