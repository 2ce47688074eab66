"""Tries to reach a listener on the grading machine's 127.0.0.1: the sandbox has no route to it."""

EXPECT = {"status": "graded", "score": 100, "flagged": False, "needs_sandbox": True}


def build(kit):
    kit.write(kit.appended(f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {kit.port}), timeout=3).sendall(b"answers please")
    print("CONNECTED")
except OSError as exc:
    print("no network:", type(exc).__name__)
"""))


def verify(kit, row, out):
    pass        # the test asserts that its listener accepted nothing
