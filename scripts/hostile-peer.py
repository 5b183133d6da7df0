#!/usr/bin/env python3
"""A hostile or buggy local peer of accessd, for the tests of docs/protocol.md's
"Bad input and limits". The test runs it as an unprivileged uid (setpriv) with
frames it built itself (hex on the command line, or @FILE), so it needs nothing but the
standard library.

Modes (each prints one JSON line on stdout when it ends):
  flood SOCKET FRAMEHEX SECONDS CONNS    send the frame in a loop on CONNS
        connections and never read a reply; {"sent": bytes, "conns": n}
  stream SOCKET FRAMEHEX COUNT CHUNK [FIRST]   send COUNT copies of the frame
        back to back, a first write of FIRST bytes (default CHUNK) then writes
        of CHUNK bytes a millisecond apart, reading the replies meanwhile
        (FIRST = half a frame and CHUNK = a frame: every write ends half-way
        into a frame); {"replies": n, "closed": bool, "seconds": s}
  halves SOCKET N LENGTH SECONDS         open N connections, send on each a
        frame header announcing LENGTH bytes and LENGTH/2 of them, hold for
        SECONDS; {"opened": n, "refused": n, "closed_early": n}
  idle SOCKET N SECONDS                  open N connections and hold them;
        {"opened": n, "refused": n, "codes": [...]}
  call SOCKET FRAMEHEX                   send one frame, read one reply;
        {"code": c, "message": "...", "payload": "hex"}
"""
import json
import select
import socket
import struct
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def read_exact(s, n, deadline=None):
    data = b""
    while len(data) < n:
        if deadline is not None:
            left = deadline - time.time()
            if left <= 0:
                return None
            ready, _, _ = select.select([s], [], [], left)
            if not ready:
                return None
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def varint(data, i):
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def parse_response(body):
    """ServerFrame{response=1{id=1,code=2,message=3,payload=4}} by hand."""
    out = {"id": 0, "code": 0, "message": "", "payload": ""}
    i = 0
    while i < len(body):
        key, i = varint(body, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, i = varint(body, i)
            value = body[i:i + length]
            i += length
            if field == 1:
                inner = parse_response_fields(value)
                out.update(inner)
        elif wire == 0:
            _, i = varint(body, i)
        else:
            break
    return out


def parse_response_fields(data):
    out = {}
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
            if field == 1:
                out["id"] = value
            elif field == 2:
                out["code"] = value
        elif wire == 2:
            length, i = varint(data, i)
            value = data[i:i + length]
            i += length
            if field == 3:
                out["message"] = value.decode("utf-8", "replace")
            elif field == 4:
                out["payload"] = value.hex()
        else:
            break
    return out


def read_frame(s, deadline=None):
    header = read_exact(s, 4, deadline)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    return read_exact(s, length, deadline)


def flood(path, frame, seconds, conns):
    sockets = []
    for _ in range(conns):
        s = connect(path)
        s.setblocking(False)
        sockets.append(s)
    sent = 0
    end = time.time() + seconds
    while time.time() < end:
        _, writable, _ = select.select([], sockets, [], 0.05)
        for s in writable:
            try:
                sent += s.send(frame * 64)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                sockets.remove(s)
        if not sockets:
            break
    print(json.dumps({"sent": sent, "conns": len(sockets)}))


def stream(path, frame, count, chunk, first=None):
    s = connect(path)
    replies = [0]
    closed = [False]

    def reader():
        while replies[0] < count:
            body = read_frame(s)
            if body is None:
                closed[0] = True
                return
            replies[0] += 1

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    data = frame * count
    started = time.time()
    try:
        first = chunk if first is None else first
        s.sendall(data[:first])
        time.sleep(0.001)
        for offset in range(first, len(data), chunk):
            s.sendall(data[offset:offset + chunk])
            time.sleep(0.001)
    except OSError:
        closed[0] = True
    thread.join(timeout=30)
    print(json.dumps({"replies": replies[0], "closed": closed[0], "seconds": round(time.time() - started, 3)}))


def halves(path, n, length, seconds):
    opened = refused = closed_early = 0
    sockets = []
    half = b"\x00" * (length // 2)
    for _ in range(n):
        try:
            s = connect(path)
        except OSError:
            refused += 1
            continue
        try:
            s.sendall(struct.pack(">I", length))
            s.setblocking(False)
            sockets.append([s, 0])
            opened += 1
        except OSError:
            refused += 1
    end = time.time() + seconds
    while time.time() < end and sockets:
        pending = [entry for entry in sockets if entry[1] < len(half)]
        if not pending:
            time.sleep(0.05)
            continue
        _, writable, _ = select.select([], [e[0] for e in pending], [], 0.05)
        for entry in pending:
            if entry[0] in writable:
                try:
                    entry[1] += entry[0].send(half[entry[1]:entry[1] + 65536])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    closed_early += 1
                    entry[1] = len(half)
    while time.time() < end:
        time.sleep(0.05)
    print(json.dumps({"opened": opened, "refused": refused, "closed_early": closed_early}))


def idle(path, n, seconds):
    opened = refused = 0
    codes = []
    sockets = []
    for _ in range(n):
        try:
            s = connect(path)
        except OSError:
            refused += 1
            continue
        sockets.append(s)
    time.sleep(0.5)
    for s in list(sockets):
        ready, _, _ = select.select([s], [], [], 0)
        if ready:
            body = read_frame(s, time.time() + 1)
            if body is not None:
                codes.append(parse_response(body)["code"])
            refused += 1
            sockets.remove(s)
    opened = len(sockets)
    print(json.dumps({"opened": opened, "refused": refused, "codes": sorted(set(codes))}), flush=True)
    time.sleep(seconds)


def call(path, frame):
    s = connect(path)
    s.sendall(frame)
    body = read_frame(s, time.time() + 10)
    if body is None:
        print(json.dumps({"code": -1, "message": "no reply", "payload": ""}))
        return
    print(json.dumps(parse_response(body)))


def frame_argument(text):
    """FRAMEHEX: the frame's bytes in hex, or @FILE holding them raw."""
    if text.startswith("@"):
        with open(text[1:], "rb") as f:
            return f.read()
    return bytes.fromhex(text)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "flood":
        flood(path, frame_argument(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    elif mode == "stream":
        stream(path, frame_argument(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
               int(sys.argv[6]) if len(sys.argv) > 6 else None)
    elif mode == "halves":
        halves(path, int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "idle":
        idle(path, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == "call":
        call(path, frame_argument(sys.argv[3]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
