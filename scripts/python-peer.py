#!/usr/bin/env python3
"""A non-Swift peer of accessd: speaks the wire with Python's protobuf package.

Usage: python-peer.py SOCKET GENERATED_DIR
GENERATED_DIR holds the modules `protoc --python_out` made from proto/ (the
test makes them at test time). As an administrator (root or a configured
admin uid) it creates an account, adds a user as the account's owner, and
runs two checks. Prints one line per step; exits 0 when every answer is as
the domain rules say.

Before connecting it checks the socket as the Swift and C clients do
(SocketTrust, README "Where things are"): the socket (not followed) must be
owned by root or by this user, and its directory (not followed) must be a real
directory owned by root or by the socket's owner that no one else can write;
otherwise it says why and exits 2 without connecting.
"""
import errno
import os
import socket
import stat
import struct
import sys

sys.path.insert(0, sys.argv[2])
from accessd.v1 import access_pb2, admin_pb2, frames_pb2, types_pb2, users_pb2  # noqa: E402


def socket_problem(path):
    """Why the socket at `path` cannot be trusted, or None (also when there is none to judge)."""
    directory, name = os.path.split(path)
    directory = directory or "."
    try:
        fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ENOTDIR, errno.ELOOP) and os.path.islink(directory):
            return (f"the socket's directory {directory} is a symbolic link, which whoever can change it could "
                    "point elsewhere; connect through the directory it points to")
        return None  # missing or not searchable: connect() says why
    try:
        sock = os.stat(name, dir_fd=fd, follow_symlinks=False)
        folder = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if stat.S_ISLNK(sock.st_mode):
        return f"{path} is a symbolic link, not a socket; connect to the socket itself"
    if not stat.S_ISSOCK(sock.st_mode):
        return None
    owner, user = sock.st_uid, os.geteuid()
    if owner not in (0, user):
        return (f"{path} belongs to uid {owner}, not to root or to you (uid {user}), so it may be that user's "
                "impostor; connect to a socket owned by root or by you")
    elsewhere = "run accessd with --socket in a directory only its user can write"
    mode = stat.S_IMODE(folder.st_mode)
    if folder.st_uid not in (0, owner):
        return (f"the socket's directory {directory} is owned by uid {folder.st_uid}, not by root or by the "
                f"socket's owner (uid {owner}), so that user could replace the socket with an impostor; "
                f"chown {owner} {directory}, or {elsewhere}")
    if mode & 0o1002 == 0o1002:
        return (f"the socket's directory {directory} is shared (mode {mode:04o}): anyone may put a socket in it, "
                f"so an impostor could be there first; {elsewhere}")
    if mode & 0o022:
        return (f"the socket's directory {directory} is writable by others than its owner (mode {mode:04o}), so "
                f"they could replace the socket with an impostor; chmod go-w {directory}, or {elsewhere}")
    return None


class Connection:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.next_id = 1

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("accessd closed the connection")
            data += chunk
        return data

    def call(self, method, request, reply_type, actor=""):
        call_id = self.next_id
        self.next_id += 1
        frame = frames_pb2.ClientFrame()
        frame.request.id = call_id
        frame.request.method = method
        frame.request.payload = request.SerializeToString()
        frame.request.actor = actor
        body = frame.SerializeToString()
        self.sock.sendall(struct.pack(">I", len(body)) + body)
        while True:
            (length,) = struct.unpack(">I", self._read_exact(4))
            server_frame = frames_pb2.ServerFrame.FromString(self._read_exact(length))
            response = server_frame.response
            if response.id != call_id:
                continue
            if response.code != 0:
                return None, response
            return reply_type.FromString(response.payload), response


def main():
    problem = socket_problem(sys.argv[1])
    if problem is not None:
        print(f"cannot connect to accessd at {sys.argv[1]}: {problem}", file=sys.stderr)
        return 2
    conn = Connection(sys.argv[1])
    create = admin_pb2.CreateAccountRequest(
        name="Python Co", kind=types_pb2.ACCOUNT_KIND_STANDARD, region=types_pb2.REGION_EU,
        full_access_licenses=2, owner_email="owner@python.example",
        owner_first_name="Guido", owner_last_name="Owner")
    created, response = conn.call("/accessd.v1.AdminService/CreateAccount", create, admin_pb2.CreateAccountResponse)
    if created is None:
        print(f"create account failed: {response.code} {response.message}")
        return 1
    account = created.account.id
    print(f"created account {account} owned by {created.owner.id}")

    add = users_pb2.AddUserRequest(
        account_id=account, email="viewer@python.example", first_name="Vera", last_name="Viewer", role="Viewer")
    added, response = conn.call("/accessd.v1.UserService/AddUser", add, users_pb2.UserResponse,
                                actor="owner@python.example")
    if added is None:
        print(f"add user failed: {response.code} {response.message}")
        return 1
    print(f"added user {added.user.id} status {types_pb2.UserStatus.Name(added.user.status)}")

    check = access_pb2.CheckRequest(
        user="owner@python.example", account_id=account, permission=types_pb2.PERMISSION_SHARE_ACCESS)
    allowed, response = conn.call("/accessd.v1.AccessService/Check", check, access_pb2.CheckResponse)
    print(f"owner SHARE_ACCESS allowed={allowed.allowed}")
    check.user = added.user.id
    denied, response = conn.call("/accessd.v1.AccessService/Check", check, access_pb2.CheckResponse)
    print(f"pending viewer SHARE_ACCESS allowed={denied.allowed} denied_by={denied.denied_by}")
    return 0 if allowed.allowed and not denied.allowed and denied.denied_by == "R7" else 1


if __name__ == "__main__":
    sys.exit(main())
