#!/usr/bin/env python3
"""A non-Swift peer of accessd: speaks the wire with Python's protobuf package.

Usage: python-peer.py SOCKET GENERATED_DIR
GENERATED_DIR holds the modules `protoc --python_out` made from proto/ (the
test makes them at test time). As an administrator (root or a configured
admin uid) it creates an account, adds a user as the account's owner, and
runs two checks. Prints one line per step; exits 0 when every answer is as
the domain rules say.
"""
import socket
import struct
import sys

sys.path.insert(0, sys.argv[2])
from accessd.v1 import access_pb2, admin_pb2, frames_pb2, types_pb2, users_pb2  # noqa: E402


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
