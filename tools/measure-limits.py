#!/usr/bin/env python3
"""Peak RSS of `chainpp run` against a loopback server that sends without end.

Each case starts a server on 127.0.0.1 (port 0), writes a configuration whose
`openai` model points at it (default limits), runs the CLI under
/usr/bin/time -v and prints its peak RSS, wall time and last line of standard
error (the error naming the limit that ended the call).

  tools/measure-limits.py [--cli build/tools/chainpp/chainpp] [--plugins build/plugins]

Cases: a 2 GiB chunked body (invoke), an endless SSE stream of small chunks
(run --stream), an endless SSE `data:` line (run --stream).
"""
import argparse
import os
import re
import socket
import subprocess
import tempfile
import threading

SSE_HEAD = b"HTTP/1.1 200 OK\r\nx-request-id: req-1\r\nContent-Type: text/event-stream\r\n\r\n"


def chunked_2gib(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nx-request-id: req-1\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    for _ in range((2 << 30) // 0x10000):
        conn.sendall(chunk)
    conn.sendall(b"0\r\n\r\n")


def endless_small_chunks(conn):
    conn.sendall(SSE_HEAD)
    event = b'data: {"choices":[{"index":0,"delta":{"content":"tok "}}]}\n\n'
    block = event * 1000
    while True:
        conn.sendall(block)


def endless_line(conn):
    conn.sendall(SSE_HEAD + b"data: ")
    block = b"x" * 0x10000
    while True:
        conn.sendall(block)


CASES = [("2 GiB chunked body", chunked_2gib, []),
         ("endless SSE stream of small chunks", endless_small_chunks, ["--stream"]),
         ("endless SSE line", endless_line, ["--stream"])]


def serve(listener, body):
    conn, _ = listener.accept()
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(65536)
        head, _, rest = request.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        while length and len(rest) < int(length.group(1)):
            rest += conn.recv(65536)
        try:
            body(conn)
        except OSError:
            pass  # the client closed: the limit ended the call


def measure(cli, plugins, name, body, flags):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    threading.Thread(target=serve, args=(listener, body), daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "limits.yaml")
        with open(config, "w") as f:
            f.write(f"plugins:\n  paths: [{plugins}]\n  load: [openai]\n"
                    f"models:\n  m:\n    provider: openai\n    model: gpt-4o-mini\n"
                    f"    base_url: http://127.0.0.1:{port}/v1/\n    api_key: test-key\n    max_retries: 0\n"
                    f"pipelines:\n  p:\n    steps: [{{model: m}}]\n")
        command = ["/usr/bin/time", "-v", cli, "run", config, "--input", "message=hi"] + flags
        run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    listener.close()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", run.stderr)
    said = [line for line in run.stderr.splitlines() if line and not line.startswith("\t")]
    print(f"{name}: peak RSS {int(rss.group(1)) / 1024:.1f} MiB, wall {wall.group(1)}, exit {run.returncode}")
    print(f"  command: {' '.join(command[2:])}")
    print(f"  stderr: {said[0] if said else '(none)'}")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=os.path.join(root, "build/tools/chainpp/chainpp"))
    parser.add_argument("--plugins", default=os.path.join(root, "build/plugins"))
    args = parser.parse_args()
    for name, body, flags in CASES:
        measure(args.cli, args.plugins, name, body, flags)


if __name__ == "__main__":
    main()
