"""One moto_server for a test module: started on a free port (with the TLS-only correction of
moto_server_tls.py), waited for, and stopped. Shared by tests/e2e and tests/pipeline."""

import contextlib
import pathlib
import socket
import subprocess
import sys
import time

LAUNCHER = pathlib.Path(__file__).with_name("moto_server_tls.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server(log_path):
    """Yields the endpoint URL of a running moto_server whose output goes to `log_path`."""
    port = free_port()
    with open(log_path, "w") as handle:
        server = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(port)], stdout=handle, stderr=handle
        )
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
